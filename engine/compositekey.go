package engine

import (
	"encoding/json"
	"strconv"
	"strings"
)

// A composite key (key: [tenant_id, id], or a primary key of several
// columns) is walked in the order of its tuple of values: a batch is the
// rows whose tuple is after the last one done and up to the batch's last,
// a row-value range each database serves from the key's index (the
// templates' key-after-lo and key-upto-hi). A single-column key is walked
// as it always was: s.key names it and s.keys is nil. With a composite
// key, s.key only names its columns for people ("tenant_id, id").

// keyTuple is one row's values of a composite key, in the key's order.
type keyTuple []any

// setKey takes the resolved key's columns.
func (s *Session) setKey(cols []string) {
	switch len(cols) {
	case 0:
		s.key, s.keys = "", nil
	case 1:
		s.key, s.keys = cols[0], nil
	default:
		s.key, s.keys = keysNamed(cols), cols
	}
}

// keysNamed is what Key holds for a composite key: its columns' names, for
// people ("tenant_id, id"); templates walk Keys.
func keysNamed(cols []string) string { return strings.Join(cols, ", ") }

// composite reports whether the walk's key has several columns.
func (s *Session) composite() bool { return len(s.keys) > 1 }

// bindKey sets a key value under name in a statement's values: a
// composite key's columns under name_0, name_1, … (the templates' names).
func bindKey(vals map[string]any, name string, v any) {
	if t, ok := v.(keyTuple); ok {
		for i, x := range t {
			vals[name+"_"+strconv.Itoa(i)] = x
		}
		return
	}
	vals[name] = v
}

// expandKeys binds the composite key values of vals by column.
func expandKeys(vals map[string]any) map[string]any {
	for name, v := range vals {
		if _, ok := v.(keyTuple); ok {
			bindKey(vals, name, v)
		}
	}
	return vals
}

// keyDest is where a row's key is scanned to: one value, or one per column
// of a composite key; value gives it back (a keyTuple for a composite key).
func (s *Session) keyDest() (dest []any, value func() any) {
	if !s.composite() {
		var v any
		return []any{&v}, func() any { return v }
	}
	vals := make([]any, len(s.keys))
	dest = make([]any, len(vals))
	for i := range vals {
		dest[i] = &vals[i]
	}
	// Text as a string (ownKey): a []byte the driver gave may be its
	// buffer, and is kept as the batch's bound.
	return dest, func() any { return ownKey(append(keyTuple(nil), vals...)) }
}

// colIsInteger reports whether a key column is of an integer type.
func (s *Session) colIsInteger(col string) bool {
	c, ok := s.table.Column(col)
	return ok && strings.Contains(strings.ToLower(c.Type), "int")
}

// colArg turns a key column's text back into a value of its type.
func (s *Session) colArg(col, text string) any {
	if s.colIsInteger(col) {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n
		}
	}
	return text
}

// tupleText is how a composite key value is kept as a checkpoint: a JSON
// list of each column's text (keyText), which no column's text can make
// ambiguous, and which keyArg reads back.
func tupleText(t keyTuple) string {
	parts := make([]string, len(t))
	for i, v := range t {
		parts[i] = keyText(v)
	}
	b, _ := json.Marshal(parts) // a list of strings always marshals
	return string(b)
}

// tupleArg reads a composite checkpoint back; nil when it is not one of
// this key's.
func (s *Session) tupleArg(text string) keyTuple {
	var parts []string
	if err := json.Unmarshal([]byte(text), &parts); err != nil || len(parts) != len(s.keys) {
		return nil
	}
	t := make(keyTuple, len(parts))
	for i, p := range parts {
		t[i] = s.colArg(s.keys[i], p)
	}
	return t
}

// keyAt shows a checkpoint (or any kept key value) for people, with the
// key's name: "id 1200", "tenant_id 3, id 1200".
func (s *Session) keyAt(cp string) string {
	if !s.composite() {
		return s.key + " " + cp
	}
	var parts []string
	if err := json.Unmarshal([]byte(cp), &parts); err != nil || len(parts) != len(s.keys) {
		return s.key + " " + cp
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = s.keys[i] + " " + p
	}
	return strings.Join(out, ", ")
}

// keyShown is a kept key value for people without the key's name: 1200, or
// (3, 1200) for a composite key, as in a sample of keys.
func (s *Session) keyShown(cp string) string {
	if !s.composite() {
		return cp
	}
	var parts []string
	if err := json.Unmarshal([]byte(cp), &parts); err != nil {
		return cp
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// keyLabel names the key for people: id, or (tenant_id, id).
func (s *Session) keyLabel() string {
	if s.composite() {
		return keyName(s.keys)
	}
	return s.key
}

// checkpointShown is a progress event's checkpoint: the key's value as
// kept for a single key (1200), with the columns named for a composite one
// (tenant_id 3, id 1200).
func (s *Session) checkpointShown(cp string) string {
	if s.composite() || s.rowid != "" {
		return s.walkAt(cp)
	}
	return cp
}
