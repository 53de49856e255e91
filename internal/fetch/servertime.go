package fetch

import (
	"fmt"
	"time"
)

// fixedClock is the API's clock when a run is given none: the run's Now.
type fixedClock time.Time

func (c fixedClock) Now() time.Time                { return time.Time(c) }
func (c fixedClock) Vouched() (time.Time, bool)    { return time.Time(c), true }
func (c fixedClock) Offset() (time.Duration, bool) { return 0, false }

// floorAt is the earliest listing start at the API's time now.
func floorAt(now time.Time) time.Time {
	return now.Add(-Retention + SafetyMargin).Truncate(time.Second)
}

// SkewMessage says how far the engine's clock (host) is from the API's,
// offset being host minus API, e.g. "the engine's clock is 2h03m ahead of
// Microsoft's; times are taken from the API".
func SkewMessage(offset time.Duration) string {
	dir := "ahead of"
	if offset < 0 {
		dir, offset = "behind", -offset
	}
	return fmt.Sprintf("the engine's clock is %s %s Microsoft's; times are taken from the API", clockWords(offset), dir)
}

// offsetWords is the diagnostics' clock offset, "" under a second.
func offsetWords(offset time.Duration) string {
	if offset < time.Second && offset > -time.Second {
		return ""
	}
	dir := "ahead"
	if offset < 0 {
		dir, offset = "behind", -offset
	}
	return fmt.Sprintf("engine clock %s %s", offset.Truncate(time.Second), dir)
}

// clockWords renders an offset as "2h03m", or "4m10s" under an hour.
func clockWords(d time.Duration) string {
	if d >= time.Hour {
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
}
