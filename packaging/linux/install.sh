#!/bin/sh
# Install this twinreview build for the current user (no root needed), or remove it again.
#
#   ./install.sh              copy the app to ~/.local/opt/twinreview, link ~/.local/bin/twinreview,
#                             and add the menu entry, icons and AppStream metainfo under ~/.local/share
#   ./install.sh --uninstall  remove all of that
#
# PREFIX=/opt/somewhere ./install.sh installs elsewhere (then run it as a user who may write there).
set -eu
APP_ID=org.twinreview.TwinReview
PREFIX=${PREFIX:-"$HOME/.local"}
DEST="$PREFIX/opt/twinreview"
SHARE=${XDG_DATA_HOME:-"$PREFIX/share"}
[ "$PREFIX" = "$HOME/.local" ] || SHARE="$PREFIX/share"
HERE=$(cd "$(dirname "$0")" && pwd)

remove() {
  rm -f "$PREFIX/bin/twinreview" "$PREFIX/bin/twinreview-cli" \
        "$SHARE/applications/$APP_ID.desktop" "$SHARE/metainfo/$APP_ID.metainfo.xml"
  find "$SHARE/icons/hicolor" -name "$APP_ID.*" -delete 2>/dev/null || true
  rm -rf "$DEST"
}

refresh() {
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$SHARE/applications" || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
  remove
  refresh
  echo "twinreview removed from $PREFIX"
  exit 0
fi

[ -x "$HERE/twinreview" ] || { echo "install.sh: run it from the unpacked twinreview folder" >&2; exit 2; }
if [ "$HERE" != "$DEST" ]; then
  rm -rf "$DEST"
  mkdir -p "$(dirname "$DEST")"
  cp -a "$HERE" "$DEST"
fi
mkdir -p "$PREFIX/bin" "$SHARE/applications" "$SHARE/metainfo"
ln -sf "$DEST/twinreview" "$PREFIX/bin/twinreview"
ln -sf "$DEST/twinreview-cli" "$PREFIX/bin/twinreview-cli"
sed -e "s|^Exec=twinreview|Exec=$DEST/twinreview|" -e "s|^TryExec=twinreview|TryExec=$DEST/twinreview|" \
  "$DEST/share/applications/$APP_ID.desktop" > "$SHARE/applications/$APP_ID.desktop"
cp "$DEST/share/metainfo/$APP_ID.metainfo.xml" "$SHARE/metainfo/"
(cd "$DEST/share" && find icons -type f) | while read -r icon; do
  mkdir -p "$SHARE/$(dirname "$icon")"
  cp "$DEST/share/$icon" "$SHARE/$icon"
done
refresh
echo "twinreview installed in $DEST; run 'twinreview' (make sure $PREFIX/bin is on your PATH)"
