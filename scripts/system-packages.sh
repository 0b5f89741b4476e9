#!/usr/bin/env bash
# Debian packages the test suite needs: chromium (browser tests), fonts-noto-cjk (review
# packs render Japanese and other CJK text in their PDF), poppler-utils (tests read the
# PDF's text layer with pdftotext), and the libraries WeasyPrint draws PDFs with (Pango,
# HarfBuzz's subsetter), redis-server (the API-rate test starts one of its own), and
# LibreOffice Impress without its GUI (the slides test converts the pack's .pptx to PDF
# with `soffice --headless`; the desktop libreoffice-impress does as well where installed,
# and the two conflict, so either one counts), and gettext (msgfmt compiles the translation
# catalogues, `make messages`; the catalogue test runs makemessages, which needs xgettext).
# Installs what is missing when run as root (or with sudo); otherwise says what to install.
set -euo pipefail

# An entry "a|b" is met by either package; the first is the one installed.
PACKAGES=(chromium fonts-noto-cjk poppler-utils libpango-1.0-0 libpangoft2-1.0-0
          libharfbuzz-subset0 redis-server "libreoffice-impress-nogui|libreoffice-impress"
          gettext)
# Given packages, only those: `make run` asks for gettext alone (the catalogues), not the
# browser and office suite the tests need.
if [ $# -gt 0 ]; then PACKAGES=("$@"); fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r -a choices <<<"$entry"
  met=""
  for package in "${choices[@]}"; do
    if installed "$package"; then met=1; break; fi
  done
  [ -n "$met" ] || missing+=("${choices[0]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing Debian packages Quarterdeck needs: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo"
else
  echo "error: cannot install ${missing[*]}: not root and no passwordless sudo." >&2
  echo "Run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "Installed: ${missing[*]}"
