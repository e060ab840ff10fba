#!/usr/bin/python3
"""A WHIP publisher on GStreamer's webrtcbin (libnice ICE, GStreamer DTLS/SRTP): an independent stack for tests.

  gstWhipPublisher.py URL [--token T] [--seconds S] [--no-trickle]

Publishes VP8 (videotestsrc) + Opus (audiotestsrc), trickles its candidates by PATCH with If-Match
(unless --no-trickle), DELETEs the session at the end and prints one JSON line with what happened.
"""
import argparse, json, sys, urllib.error, urllib.parse, urllib.request
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

PIPELINE = (
    "webrtcbin name=pc bundle-policy=max-bundle "
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! queue "
    "! vp8enc name=enc deadline=1 keyframe-max-dist=60 ! rtpvp8pay pt=96 ! application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000 ! pc. "
    "audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! queue ! opusenc ! rtpopuspay pt=111 "
    "! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! pc. "
)


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body.encode() if body is not None else None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=15) as res:
            return res.status, dict(res.headers.items()), res.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read().decode()


class Publisher:
    def __init__(self, args):
        self.args = args
        self.auth = {"Authorization": f"Bearer {args.token}"} if args.token else {}
        self.result = {"candidates": [], "patches": [], "state": None}
        self.location = None
        self.etag = None
        self.offer_sdp = None
        self.pending = []
        self.loop = GLib.MainLoop()
        self.pipe = Gst.parse_launch(PIPELINE)
        self.pc = self.pipe.get_by_name("pc")
        # libnice skips loopback when it picks interfaces itself; announce 127.0.0.1 (and only it) explicitly.
        # Keep the wrapper: PyGObject takes webrtcbin's floating reference to the agent when it reads the property.
        self.ice = self.pc.get_property("ice-agent")
        self.ice.emit("add-local-ip-address", args.local_ip)
        self.pc.connect("on-ice-candidate", self.on_ice_candidate)
        self.pc.connect("notify::ice-gathering-state", self.on_gathering)
        self.pc.connect("notify::connection-state", self.on_connection_state)
        # The encoder drops frames when the machine is busy (a live source): report what it produced while connected,
        # so the test compares the recording with what was sent rather than with 30 fps.
        self.result["videoPts"] = []
        self.sending = False
        self.pipe.get_by_name("enc").get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.on_encoded)

    def run(self):
        self.pipe.set_state(Gst.State.PLAYING)
        for i in range(2):  # WHIP is publish-only
            self.pc.emit("get-transceiver", i).set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        GLib.timeout_add(500, self.negotiate)
        GLib.timeout_add(int(self.args.timeout * 1000), self.fail, "timed out")
        self.loop.run()
        self.pipe.set_state(Gst.State.NULL)
        print(json.dumps(self.result), flush=True)
        return 0 if self.result.get("error") is None else 1

    def fail(self, message):
        self.result["error"] = message
        self.loop.quit()
        return False

    def negotiate(self):
        # Not on-negotiation-needed: that fires per linked pad, before both tracks are known.
        promise = Gst.Promise.new_with_change_func(self.on_offer, None)
        self.pc.emit("create-offer", None, promise)
        return False

    def on_offer(self, promise, _data):
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply else None
        if offer is None:
            return GLib.idle_add(self.fail, f"create-offer failed: {reply.to_string() if reply else 'no reply'}")
        self.pc.emit("set-local-description", offer, Gst.Promise.new())
        self.offer_sdp = offer.sdp.as_text()
        if not self.args.no_trickle:
            GLib.idle_add(self.post, self.offer_sdp)

    def on_gathering(self, pc, _spec):
        if pc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            if self.args.no_trickle:
                GLib.idle_add(self.post, pc.get_property("local-description").sdp.as_text())
            else:
                GLib.idle_add(self.trickle, None)

    def on_ice_candidate(self, _pc, mline, candidate):
        self.result["candidates"].append(candidate)
        if not self.args.no_trickle:
            GLib.idle_add(self.trickle, (mline, candidate))

    def post(self, sdp):
        status, headers, body = http("POST", self.args.url, sdp, {"Content-Type": "application/sdp", **self.auth})
        headers = {k.lower(): v for k, v in headers.items()}
        self.result["post"] = {"status": status, "location": headers.get("location"), "etag": headers.get("etag"), "link": headers.get("link")}
        if status != 201:
            return self.fail(f"POST answered {status}: {body}")
        self.location = urllib.parse.urljoin(self.args.url, headers["location"])
        self.etag = headers.get("etag")
        ok, answer = GstSdp.SDPMessage.new_from_text(body)
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, answer)
        self.pc.emit("set-remote-description", desc, Gst.Promise.new())
        for item in self.pending:
            self.trickle(item)
        self.pending = []
        return False

    def trickle(self, item):
        if self.location is None:
            self.pending.append(item)
            return False
        lines = [l for l in self.offer_sdp.splitlines() if l.startswith(("a=ice-ufrag:", "a=ice-pwd:"))][:2]
        mids = [l[6:] for l in self.offer_sdp.splitlines() if l.startswith("a=mid:")]
        if item is None:
            lines += ["m=audio 9 RTP/AVP 0", f"a=mid:{mids[0]}", "a=end-of-candidates"]
        else:
            mline, candidate = item
            lines += ["m=audio 9 RTP/AVP 0", f"a=mid:{mids[mline]}", f"a={candidate}"]
        status, _h, body = http("PATCH", self.location, "\r\n".join(lines) + "\r\n",
                                {"Content-Type": "application/trickle-ice-sdpfrag", "If-Match": self.etag or "*", **self.auth})
        self.result["patches"].append(status)
        if status != 204:
            self.fail(f"PATCH answered {status}: {body}")
        return False

    def on_encoded(self, _pad, info):
        buf = info.get_buffer()
        if self.sending and buf is not None and buf.pts != Gst.CLOCK_TIME_NONE:
            self.result["videoPts"].append(buf.pts / Gst.SECOND)
        return Gst.PadProbeReturn.OK

    def on_connection_state(self, pc, _spec):
        state = pc.get_property("connection-state")
        self.result["state"] = state.value_nick
        if state == GstWebRTC.WebRTCPeerConnectionState.CONNECTED and "connectedAt" not in self.result:
            self.result["connectedAt"] = True
            self.sending = True
            GLib.timeout_add(int(self.args.seconds * 1000), self.finish)
        elif state == GstWebRTC.WebRTCPeerConnectionState.FAILED:
            GLib.idle_add(self.fail, "ICE/DTLS failed")

    def finish(self):
        self.sending = False
        status, _h, body = http("DELETE", self.location, None, self.auth)
        self.result["delete"] = {"status": status, "body": json.loads(body) if body.startswith("{") else body}
        self.loop.quit()
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--token")
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--no-trickle", action="store_true")
    parser.add_argument("--local-ip", default="127.0.0.1")
    args = parser.parse_args()
    Gst.init(None)
    sys.exit(Publisher(args).run())


if __name__ == "__main__":
    main()
