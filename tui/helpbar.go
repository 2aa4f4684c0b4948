package tui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
)

// The help bar. bubbles' help drops what does not fit: at 60 columns the
// short help lost q, and the full help's last columns (q among them) were
// cut off. This one always shows how to quit and how to see more keys: the
// short help drops other keys, from the end, until it fits one line, and
// the full help flows its groups over as many lines as it needs (each group
// on lines of its own while that fits in maxLines, else all together).

// helpItem is one enabled binding, rendered.
type helpItem struct {
	text      string
	essential bool // quit and help: never dropped
}

func helpItems(st help.Styles, bs []key.Binding, full bool, k keyMap) []helpItem {
	keyStyle, descStyle := st.ShortKey, st.ShortDesc
	if full {
		keyStyle, descStyle = st.FullKey, st.FullDesc
	}
	var out []helpItem
	for _, b := range bs {
		if !b.Enabled() {
			continue
		}
		h := b.Help()
		essential := sameKeys(b, k.Quit) || sameKeys(b, k.Help)
		out = append(out, helpItem{text: keyStyle.Render(h.Key) + " " + descStyle.Render(h.Desc), essential: essential})
	}
	return out
}

func sameKeys(a, b key.Binding) bool {
	return strings.Join(a.Keys(), " ") == strings.Join(b.Keys(), " ")
}

// renderHelp lays out the help bar in width columns and at most maxLines
// lines.
func renderHelp(st help.Styles, k keyMap, b bindings, all bool, width, maxLines int) string {
	sep := st.ShortSeparator.Render(" • ")
	if !all {
		items := helpItems(st, b.short, false, k)
		for widthOf(joinItems(items, sep)) > width {
			drop := -1
			for i := len(items) - 1; i >= 0; i-- {
				if !items[i].essential {
					drop = i
					break
				}
			}
			if drop < 0 {
				break
			}
			items = append(items[:drop], items[drop+1:]...)
		}
		return truncate(joinItems(items, sep), width)
	}
	sep = st.FullSeparator.Render(" • ")
	var lines []string
	for _, group := range b.full {
		lines = append(lines, flow(helpItems(st, group, true, k), sep, width)...)
	}
	if len(lines) > maxLines {
		// Together, the essential keys first so that they are never cut.
		var items, rest []helpItem
		for _, g := range b.full {
			for _, it := range helpItems(st, g, true, k) {
				if it.essential {
					items = append(items, it)
				} else {
					rest = append(rest, it)
				}
			}
		}
		lines = flow(append(items, rest...), sep, width)
		if len(lines) > maxLines {
			lines = lines[:max(maxLines, 1)]
		}
	}
	return strings.Join(lines, "\n")
}

func joinItems(items []helpItem, sep string) string {
	var parts []string
	for _, it := range items {
		parts = append(parts, it.text)
	}
	return strings.Join(parts, sep)
}

// flow puts items on lines of at most width cells.
func flow(items []helpItem, sep string, width int) []string {
	var lines []string
	line := ""
	for _, it := range items {
		switch {
		case line == "":
			line = it.text
		case widthOf(line+sep+it.text) <= width:
			line += sep + it.text
		default:
			lines = append(lines, truncate(line, width))
			line = it.text
		}
	}
	if line != "" {
		lines = append(lines, truncate(line, width))
	}
	return lines
}
