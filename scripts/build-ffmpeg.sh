#!/bin/sh
# Builds recbot's lean recorder ffmpeg into .ffmpeg/bin/ffmpeg (docs/recorder-ffmpeg.md).
#   sh scripts/build-ffmpeg.sh              # build (once; later runs see it is there)
#   sh scripts/build-ffmpeg.sh --if-possible  # the same, but a missing compiler or network is a note, not a failure
# The source is Debian's own ffmpeg source package (the same upstream release as bookworm's ffmpeg), checked against
# its SHA-256. The build keeps only what the recorder uses: reading Matroska from a pipe and copying it into
# WebM/Matroska (plus the parsers and decoders ffmpeg needs to probe VP9, H.264 and AV1: the picture size of AV1 comes
# from Debian's libdav1d, as in Debian's ffmpeg). It links libc and libdav1d only, so it starts in ~1 ms instead of
# Debian ffmpeg's ~65 ms of symbol binding and holds ~2 MB instead of ~10 MB.
set -eu
cd "$(dirname "$0")/.."
VERSION=5.1.9
SHA256=d9b593bb2ba93d4b50f74177e0cdcd41747e708596367deed0c30348a71dd176
URL="http://deb.debian.org/debian/pool/main/f/ffmpeg/ffmpeg_${VERSION}.orig.tar.xz"
DEST=.ffmpeg
# Everything the build depends on is in this line: a change to it makes the next run rebuild.
CONFIG="--disable-everything --disable-autodetect --disable-doc --disable-ffplay --disable-ffprobe --disable-network \
--disable-x86asm --disable-avdevice --disable-swscale --disable-postproc --disable-debug \
--enable-protocol=pipe,file --enable-demuxer=matroska --enable-muxer=matroska,webm \
--enable-parser=vp8,vp9,h264,av1,opus --enable-decoder=vp8,vp9,h264,opus,pcm_mulaw,pcm_alaw,libdav1d --enable-libdav1d \
--enable-bsf=extract_extradata,av1_frame_split,vp9_superframe,vp9_superframe_split,h264_mp4toannexb,av1_metadata"
STAMP="$VERSION $CONFIG"

optional=false
[ "${1:-}" = "--if-possible" ] && optional=true
give_up() {
  echo "build-ffmpeg: $1" >&2
  if $optional; then
    echo "build-ffmpeg: the recorder uses the system ffmpeg instead (works the same, costs more per stream)" >&2
    exit 0
  fi
  exit 1
}

if [ -x "$DEST/bin/ffmpeg" ] && [ "$(cat "$DEST/BUILD" 2>/dev/null)" = "$STAMP" ]; then
  exit 0
fi

need=""
for t in cc make curl xz pkg-config; do
  command -v "$t" >/dev/null 2>&1 || case "$t" in cc) need="$need gcc libc6-dev" ;; xz) need="$need xz-utils" ;; *) need="$need $t" ;; esac
done
pkg-config --exists dav1d 2>/dev/null || need="$need libdav1d-dev"
if [ -n "$need" ]; then
  cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$need"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "build-ffmpeg: installing$need" >&2
    sh -c "$cmd" >&2 || give_up "could not install$need"
  else
    give_up "needs$need to build the lean recorder ffmpeg; install with (as root): $cmd"
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "build-ffmpeg: downloading Debian's ffmpeg $VERSION source" >&2
curl -fsS --retry 2 -o "$work/src.tar.xz" "$URL" || give_up "could not download $URL"
echo "$SHA256  $work/src.tar.xz" | sha256sum -c --quiet - || give_up "checksum mismatch for $URL"
tar -xJf "$work/src.tar.xz" -C "$work"
start=$(date +%s)
echo "build-ffmpeg: building (about 1.5 minutes on 2 cores)" >&2
(
  cd "$work/ffmpeg-$VERSION"
  # shellcheck disable=SC2086 # CONFIG is a list of flags
  ./configure --prefix="$work/out" $CONFIG >"$work/configure.log" 2>&1 || { tail -20 "$work/configure.log" >&2; exit 1; }
  make -j"$(nproc)" ffmpeg >"$work/make.log" 2>&1 || { tail -30 "$work/make.log" >&2; exit 1; }
) || give_up "the build failed (log above)"
mkdir -p "$DEST/bin"
cp "$work/ffmpeg-$VERSION/ffmpeg" "$DEST/bin/ffmpeg.new"
mv "$DEST/bin/ffmpeg.new" "$DEST/bin/ffmpeg"
printf '%s' "$STAMP" >"$DEST/BUILD"
echo "build-ffmpeg: $DEST/bin/ffmpeg built in $(( $(date +%s) - start )) s" >&2
