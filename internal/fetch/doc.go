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
//  1. lists [from, now − 1 minute) in windows of at most 24 hours, where
//     from is the cursor minus fetch_overlap (default 1 hour): the re-poll
//     catches blobs that became listable late, up to one overlap late;
//  2. never lists before now − 7 days + 15 minutes: a cursor older than that
//     is moved up and a warning says which period could not be fetched;
//  3. skips blobs already fully delivered (their contentId is in the dedupe
//     set), downloads the others and skips records whose Id was delivered
//     already (by any content type), so no record becomes two incidents;
//  4. merges the content types' new blobs by contentCreated, window by
//     window, and cuts at max_fetch in that order (blob, then record); a cut
//     inside a blob is remembered as (contentId, record offset);
//  5. sets each cursor to the contentCreated of the first blob it did not
//     fully deliver (or the end of what it listed), so a failure, a cut or a
//     killed run (the engine keeps the previous lastRun) loses nothing.
//
// A run that fails returns its incidents only with a lastRun that describes
// exactly what they delivered; with no incidents it fails with no lastRun.
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
//		      "seen": "AQ…"
//		    }
//		  },
//		  "migrated_from_last_fetch": true,
//		  "diagnostics": {…}
//		}
//
//	  - version: always 1; another version is refused (the engine keeps it).
//	  - streams: one per content type ever fetched (a content type no longer
//	    fetched keeps its position, so re-adding it does not re-deliver).
//	  - cursor (UTC, seconds): every blob with contentCreated before it that the
//	    API listed has been delivered, except the partials.
//	  - from (UTC, seconds): where the next listing starts (cursor − overlap,
//	    never below what the dedupe set covers, nor before the first fetch).
//	  - partials: blobs delivered up to offset records (a max_fetch cut).
//	  - unreadable (optional): blobs that could not be decoded, with the
//	    number of consecutive runs that failed on them, e.g.
//	    [{"content_id": "…", "content_created": "…", "runs": 1}]. Such a blob
//	    holds its content type's cursor (the run still exits 0 with a warning,
//	    so the count is kept) until it reads or GiveUpRuns (3) runs failed on
//	    it; it is then skipped with a warning naming it, rather than stalling
//	    the content type until the blob expires. A blob over max_blob_mb is
//	    never given up: raising the parameter fetches it.
//	  - seen: base64 of the dedupe set: a format byte (1), a uvarint bucket
//	    count, then per bucket (one per minute of contentCreated, ascending)
//	    the minute (varint Unix minutes for the first, uvarint delta after),
//	    the set of fully delivered blob contentId hashes and the set of record
//	    Id hashes first delivered by those blobs. A set is a uvarint size
//	    followed, when not empty, by a Rice parameter byte k and the gaps of
//	    the sorted values, each a unary quotient (gap>>k one bits, a zero bit)
//	    and k low bits, MSB first, padded to a byte. A hash is the first 8
//	    bytes (little-endian) of SHA-256 of the contentId or record Id.
//	    Buckets of blobs created before from − overlap are pruned, so a record
//	    delivered again in a blob created up to one overlap later is still
//	    recognized, and lastRun stays bounded (about 0.85 MiB at 1M records a
//	    day with the default overlap).
//	  - migrated_from_last_fetch: the state began as the reference
//	    integration's {"last_fetch": "YYYY-MM-DDTHH:MM:SS"}. That lastRun is
//	    accepted: every content type starts at last_fetch with no overlap
//	    (the reference kept no dedupe state, so going back would re-deliver);
//	    blobs the reference already delivered from its last window may be
//	    delivered once more, nothing is skipped.
//	  - diagnostics: the last run's counters, warnings and error, for people;
//	    never read back.
//
// An empty lastRun ({} or absent) is a first run: each content type starts
// first_fetch_delta back from now (at most 7 days minus the margin).
package fetch
