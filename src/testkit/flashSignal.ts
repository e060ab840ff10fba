/**
 * The flash/beep signal every A/V check uses (the tests, `recbot loopback`, Chromium's capture files): a black
 * picture that turns white at each whole second, and silence with a 1 kHz beep of 50 ms at each whole second.
 * Both start together, so in a recording that kept A/V sync each flash onset has a beep onset at the same time
 * (avSync.ts finds them).
 */
export interface FlashSignalOptions {
  width: number;
  height: number;
  fps: number;
  /**
   * How long each flash lasts, in frames. One is exact for a pre-encoded clip; a live encoder (Chromium's)
   * starts at a low bitrate and needs a few frames to reach white.
   */
  flashFrames?: number;
  /** The beep's frequency (default 1 kHz); participants of one call beep at different ones so a mix can be taken apart. */
  beepHz?: number;
}

const BEEP_HZ = 1000;
const BEEP_SECONDS = 0.05;

/** ffmpeg lavfi sources of the signal: `-f lavfi -i <video>` and `-f lavfi -i <audio>`. */
export function flashSignal({ width, height, fps, flashFrames = 1, beepHz = BEEP_HZ }: FlashSignalOptions): { video: string; audio: string; beep: string } {
  // Half a frame past the last flash frame, so rounding of t never adds or drops one.
  const flashSeconds = (flashFrames - 0.5) / fps;
  const beep = `if(lt(mod(t\\,1)\\,${BEEP_SECONDS})\\,0.8*sin(2*PI*${beepHz}*t)\\,0)`;
  return {
    video: `color=c=black:size=${width}x${height}:rate=${fps},drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t\\,1)\\,${flashSeconds})'`,
    audio: `aevalsrc='${beep}':s=48000`,
    beep,
  };
}
