#!/bin/sh
# Draws the README's TUI screenshots from the real TUI: internal/screens
# drives the TUI on a fresh demo database and writes each screen as ANSI
# text; freeze (a Go tool in tools/freeze) turns each into an SVG in
# docs/screens. Run it from anywhere in the repository after a TUI change:
#
#   scripts/screens.sh
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/docs/screens"
ansi=$(mktemp -d)
trap 'rm -rf "$ansi"' EXIT

cd "$root"
go run ./internal/screens -out "$ansi" >/dev/null

mkdir -p "$out"
cd "$root/tools/freeze"
for f in "$ansi"/*.ansi; do
	name=$(basename "$f" .ansi)
	# No embedded font (freeze's default embeds 370 kB of JetBrains Mono
	# in each file): the reader's monospace font draws the text.
	go tool freeze --language ansi \
		--font.family 'JetBrains Mono, Menlo, Consolas, DejaVu Sans Mono, monospace' \
		--output "$out/$name.svg" "$f" >/dev/null
	echo "docs/screens/$name.svg"
done
