#!/bin/sh
# Makes sure the system tools recbot needs are present.
#   sh scripts/system-deps.sh ffmpeg                 # what `npm start` needs
#   sh scripts/system-deps.sh ffmpeg coturn chromium firefox ...  # what `npm test` needs
# As root it installs what is missing from the distribution's packages (Debian/Ubuntu);
# otherwise it prints the exact command to run and fails.
set -eu
missing=""
for tool in "$@"; do
  case "$tool" in
    # Node from the npm "node" package (the official build) links libatomic.so.1, absent from minimal Debian images.
    libatomic) /sbin/ldconfig -p 2>/dev/null | grep -q 'libatomic\.so\.1 ' || missing="$missing libatomic1" ;;
    ffmpeg)
      command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing="$missing ffmpeg"
      # The call composite draws participants' names with this font (src/calls/composite/compositor.ts).
      [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$missing fonts-dejavu-core" ;;
    coturn) command -v turnserver >/dev/null 2>&1 || missing="$missing coturn" ;;
    chromium) command -v chromium >/dev/null 2>&1 || missing="$missing chromium" ;;
    firefox) command -v firefox-esr >/dev/null 2>&1 || missing="$missing firefox-esr" ;;
    iproute2) command -v ip >/dev/null 2>&1 || missing="$missing iproute2" ;;
    iptables) command -v iptables >/dev/null 2>&1 || missing="$missing iptables" ;;
    docker-compose) command -v docker-compose >/dev/null 2>&1 || missing="$missing docker-compose" ;;
    gstreamer-webrtc) # the second WHIP publisher in the tests: webrtcbin + libnice + vp8/opus, driven from Python
      /usr/bin/python3 -c 'import gi; gi.require_version("Gst", "1.0"); gi.require_version("GstWebRTC", "1.0"); gi.require_version("GstSdp", "1.0")' >/dev/null 2>&1 \
        && gst-inspect-1.0 webrtcbin nicesrc vp8enc opusenc rtpvp8pay rtpopuspay videotestsrc audiotestsrc >/dev/null 2>&1 \
        || missing="$missing python3-gi python3-gst-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0 gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice" ;;
    *) echo "system-deps: unknown tool $tool" >&2; exit 2 ;;
  esac
done
[ -z "$missing" ] && exit 0
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing$missing" >&2
  sh -c "$cmd" >&2
else
  echo "recbot needs:$missing. Install with (as root):" >&2
  echo "  $cmd" >&2
  exit 1
fi
