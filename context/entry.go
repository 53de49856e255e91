// Package context builds what the engine shows and stores: war-room entries,
// EntryContext keys with XSOAR's dedupe syntax, and markdown tables faithful
// to CommonServerPython's tableToMarkdown.
//
// Files that also need the standard library's context import this package as
// xcontext.
package context

// Entry types (CommonServerPython EntryType).
const (
	TypeNote    = 1
	TypeError   = 4
	TypeWarning = 11
)

// Entry formats (CommonServerPython EntryFormat).
const (
	FormatJSON     = "json"
	FormatText     = "text"
	FormatMarkdown = "markdown"
)

// Entry is one war-room entry, in the shape demisto.results() takes.
type Entry struct {
	Type                   int            `json:"Type"`
	ContentsFormat         string         `json:"ContentsFormat"`
	Contents               any            `json:"Contents"`
	HumanReadable          string         `json:"HumanReadable,omitempty"`
	ReadableContentsFormat string         `json:"ReadableContentsFormat,omitempty"`
	EntryContext           map[string]any `json:"EntryContext,omitempty"`
}

// Note returns a note entry with JSON contents, markdown human-readable output
// and the given context outputs (nil for none).
func Note(contents any, humanReadable string, outputs map[string]any) Entry {
	return Entry{
		Type:                   TypeNote,
		ContentsFormat:         FormatJSON,
		Contents:               contents,
		HumanReadable:          humanReadable,
		ReadableContentsFormat: FormatMarkdown,
		EntryContext:           outputs,
	}
}

// Text returns a plain-text note entry (e.g. test-module's "ok").
func Text(msg string) Entry {
	return Entry{Type: TypeNote, ContentsFormat: FormatText, Contents: msg}
}

// Markdown returns a note entry whose contents are markdown text.
func Markdown(md string) Entry {
	return Entry{Type: TypeNote, ContentsFormat: FormatMarkdown, Contents: md, HumanReadable: md, ReadableContentsFormat: FormatMarkdown}
}

// Error returns an error entry (Type 4, text contents).
func Error(msg string) Entry {
	return Entry{Type: TypeError, ContentsFormat: FormatText, Contents: msg}
}

// Warning returns a warning entry (Type 11, text contents).
func Warning(msg string) Entry {
	return Entry{Type: TypeWarning, ContentsFormat: FormatText, Contents: msg}
}

// Key builds an EntryContext key with XSOAR's dedupe syntax, as the
// reference integration writes it: Prefix(val.K && val.K === obj.K).
func Key(prefix, keyField string) string {
	return prefix + "(val." + keyField + " && val." + keyField + " === obj." + keyField + ")"
}

// Context keys used by the integration.
var (
	SubscriptionKey  = Key("MicrosoftManagement.Subscription", "ContentType")
	ContentRecordKey = Key("MicrosoftManagement.ContentRecord", "ID")
)
