// Package state holds the instance's persisted integrationContext for the
// duration of one command, and remembers whether the command changed it, so
// the result carries integrationContext only when there is something new to
// store (docs/protocol.md).
package state

import (
	"encoding/json"
	"maps"
	"sync"
)

// Store is the integrationContext of one run. It is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	m       map[string]any
	changed bool
}

// New wraps the integrationContext the engine sent (nil is an empty one).
func New(m map[string]any) *Store {
	if m == nil {
		m = map[string]any{}
	}
	return &Store{m: maps.Clone(m)}
}

// Get returns the value stored under key, or nil.
func (s *Store) Get(key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}

// String returns the string stored under key, or "".
func (s *Store) String(key string) string {
	v, _ := s.Get(key).(string)
	return v
}

// Decode decodes the value stored under key into out (via JSON); it reports
// false when the key is absent or does not fit out.
func (s *Store) Decode(key string, out any) bool {
	v := s.Get(key)
	if v == nil {
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	return json.Unmarshal(b, out) == nil
}

// Set stores v under key (v must marshal to JSON) and marks the store changed.
func (s *Store) Set(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = v
	s.changed = true
}

// Delete removes key and marks the store changed if it was present.
func (s *Store) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; ok {
		delete(s.m, key)
		s.changed = true
	}
}

// Reset empties the store and marks it changed (auth-reset).
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = map[string]any{}
	s.changed = true
}

// Changed reports whether the run modified the store.
func (s *Store) Changed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Map returns a copy of the stored object.
func (s *Store) Map() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.m)
}
