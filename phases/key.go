package phases

import (
	"go.yaml.in/yaml/v3"
)

// keyField is the plan's key: one column name (key: id) or a list of them
// (key: [tenant_id, id]) for a composite key.
type keyField []string

// UnmarshalYAML accepts a plain name or a list of names.
func (k *keyField) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if !textTag(n) {
			return &valueError{at: n, msg: "expected a column name or a list of them, got " + tagWords(n.Tag)}
		}
		*k = keyField{n.Value}
		return nil
	case yaml.SequenceNode:
		var cols []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || !textTag(c) {
				return &valueError{at: c, msg: "a composite key is a list of column names, such as [tenant_id, id]"}
			}
			cols = append(cols, c.Value)
		}
		if len(cols) == 0 {
			return &valueError{at: n, msg: "the key's list is empty; name its columns, such as [tenant_id, id], or leave key: out for the primary key"}
		}
		*k = cols
		return nil
	}
	return &valueError{at: n, msg: "expected a column name (key: id) or a list of them (key: [tenant_id, id])"}
}

// split gives the plan's Key and Keys: a single column, even one written
// as a list of one, is Key, so that its canonical form and hash are those
// of key: id; two or more are Keys.
func (k keyField) split() (string, []string) {
	switch len(k) {
	case 0:
		return "", nil
	case 1:
		return k[0], nil
	}
	return "", append([]string(nil), k...)
}

// KeyColumns lists the columns of the plan's key, as given: none when the
// plan leaves it to the table's primary key.
func (p *Plan) KeyColumns() []string {
	if len(p.Keys) > 0 {
		return p.Keys
	}
	if p.Key != "" {
		return []string{p.Key}
	}
	return nil
}

// keyCanonical is the key as the canonical record holds it: a single
// column as text (as plans have always hashed it), a composite key as a
// list, none as nothing.
func (p *Plan) keyCanonical() any {
	if len(p.Keys) > 0 {
		return p.Keys
	}
	if p.Key != "" {
		return p.Key
	}
	return nil
}
