// Package fetch is the lossless position of fetch-incidents: which content
// blobs and records were delivered, what remains, and how that is encoded in
// the engine's lastRun.
//
// # Algorithm
//
// The API filters listings on contentCreated (when a blob became
// available), start inclusive, end exclusive, at most 24 hours per request
// and at most 7 days back; blobs can become listable after blobs with a
// later contentCreated, and records can be delivered again in other blobs.
// So each content type keeps a cursor on contentCreated, and every run:
//
//  0. takes "now" from the API's clock (ServerClock: the Date header of its
//     answers), never the host's, so an engine whose clock is off neither
//     skips blobs the API has not made available yet nor asks for windows the
//     API finds too old; a skew of a minute or more is a warning;
//  1. fetches again the blobs of the retry set whose back-off has passed
//     (retry.go);
//  2. lists [from, now − 1 minute) in windows of at most 24 hours, where
//     from is the cursor minus fetch_overlap (default 1 hour): the re-poll
//     catches blobs that became listable late, up to one overlap late; a
//     window refused as too old (AF20055/AF20030) is recomputed from the
//     API's clock and listed once more;
//  3. never lists before now − 7 days + 15 minutes: a cursor older than that
//     is moved up and a warning says which period could not be fetched;
//     every time lastRun holds is first checked against the API's clock
//     (checkTimes in servertime.go): a cursor in the future is moved back
//     to a safe point, a retried blob's next_attempt beyond now plus the
//     longest back-off (or its other times ahead of now) is set to now, so
//     it is fetched again in that run, each with a warning naming the value;
//  4. skips blobs already fully delivered (their contentId is in the dedupe
//     set) or met before in the run, downloads the others and skips records
//     already delivered (by any content type; by Id, or by their bytes for a
//     record without one), so no record becomes two incidents (deliver.go);
//  5. merges the content types' new blobs by contentCreated, window by
//     window, and cuts at max_fetch in that order (blob, then record); a cut
//     inside a blob is remembered as (contentId, record offset);
//  6. puts a blob that fails on its own in the retry set and goes on; a
//     failure that is not the blob's (token, throttling, connection, five
//     blobs in a row) stops the content type at that blob;
//  7. sets each cursor to the contentCreated of the first listed blob it did
//     not fully deliver (or the end of what it listed), never past the newest
//     Date the API sent minus the settle margin (cursor.go), so a failure, a
//     cut or a killed run (the engine keeps the previous lastRun) loses
//     nothing.
//
// A run that fails returns its incidents only with a lastRun that describes
// exactly what they delivered (Outcome.State, whatever Err says). The
// command returns it when there are incidents or a cursor moved
// (Outcome.Advanced: empty windows listed in full), else it fails with no
// lastRun.
//
// # lastRun format (version 1)
//
//		{
//		  "version": 1,
//		  "streams": {
//		    "Audit.General": {
//		      "cursor": "2026-11-28T11:59:00Z",
//		      "from": "2026-11-28T10:59:00Z",
//		      "partials": [{"content_id": "…", "content_created": "2026-11-28T11:30:00.123Z", "offset": 500}],
//		      "retry": [{"content_id": "…", "content_uri": "…", "content_created": "…", "first_failure": "…",
//		                 "next_attempt": "…", "attempts": 3, "last_error": "…", "held_records": "AQ…"}],
//		      "seen": "AQ…"
//		    }
//		  },
//		  "migrated_from_last_fetch": true,
//		  "diagnostics": {…}
//		}
//
//	  - version: always 1; another version is refused (the engine keeps it),
//	    and so is version 1 without streams (it must not pass for a first run).
//	  - streams: one per content type ever fetched (a content type no longer
//	    fetched keeps its position, so re-adding it does not re-deliver).
//	  - cursor (UTC, seconds, the API's time): every blob with contentCreated
//	    before it that the API listed has been delivered, except the partials
//	    and the retry set.
//	  - from (UTC, seconds): where the next listing starts (cursor − overlap,
//	    never below what the dedupe set covers, nor before the first fetch).
//	  - partials: blobs delivered up to offset records (a max_fetch cut). An
//	    offset beyond the blob delivers it again from its first record, with a
//	    warning (the records delivered already are recognized).
//	  - retry (optional): blobs that failed on their own, at most
//	    MaxRetryBlobs in all: content_uri to fetch them without listing them,
//	    first_failure, attempts and last_error for people, next_attempt (the
//	    API's time; back-off 1, 2, 4, 8, then 15 minutes), offset when a
//	    max_fetch cut fell inside one, and held_records: the record hashes (a
//	    set coded as in seen) that other blobs delivered within one overlap of
//	    its contentCreated, kept after seen let them go (at most
//	    MaxHeldRecords in all), so that its records delivered already are not
//	    delivered again when it succeeds. An entry expires 7 days after
//	    content_created, or when the API says the blob is gone, with a warning
//	    naming it and the window of its records.
//	  - seen: base64 of the dedupe set: a format byte (1), a uvarint bucket
//	    count, then per bucket (one per minute of contentCreated, ascending)
//	    the minute (varint Unix minutes for the first, uvarint delta after),
//	    the set of fully delivered blob contentId hashes and the set of record
//	    hashes first delivered by those blobs. A set is a uvarint size
//	    followed, when not empty, by a Rice parameter byte k and the gaps of
//	    the sorted values, each a unary quotient (gap>>k one bits, a zero bit)
//	    and k low bits, MSB first, padded to a byte. A hash is the first 8
//	    bytes (little-endian) of SHA-256 of the contentId or record Id (of a
//	    prefix and the record's bytes for a record without Id). Buckets of
//	    blobs created before from − overlap are pruned (record hashes stay as
//	    long as the slowest content type needs them, up to MaxRecordHashes),
//	    so a record delivered again in a blob created up to one overlap later
//	    is still recognized, and lastRun stays bounded (0.75 MiB at 1M records
//	    a day with the default overlap, 0.88 MiB with a full retry set).
//	  - migrated_from_last_fetch: the state began as the reference
//	    integration's {"last_fetch": "YYYY-MM-DDTHH:MM:SS"}. That lastRun is
//	    accepted: every content type starts at last_fetch with no overlap
//	    (the reference kept no dedupe state, so going back would re-deliver);
//	    blobs the reference already delivered from its last window may be
//	    delivered once more, nothing is skipped. A last_fetch in the future
//	    starts one overlap back from the API's now instead, with a warning.
//	  - diagnostics: the last run's counters, warnings, error and clock
//	    offset, for people; never read back, whatever it holds.
//
// An empty lastRun ({} or absent) is a first run: each content type starts
// first_fetch_delta back from now (at most 7 days minus the margin).
package fetch
