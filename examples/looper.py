# A looper built from the signal primitives: an rwtable records one bar of a
# little melody while `rec` is 1, then plays it back forever, through a
# feedback echo (feedback closes the loop sample by sample).
# Render it: ./bin/krach render examples/looper.py -o loop.wav --bars 6

BAR = 48000 * 60 // 100 * 4   # one bar at 100 BPM, in samples (48 kHz)

def looper() -> krs.Signal:
    freq = krs.control("freq", 440.0, 20.0, 2000.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    rec = krs.control("rec", 1.0, 0.0, 1.0)
    voice = krs.triangle(freq) * krs.adsr(0.005, 0.1, 0.4, 0.1, gate) * 0.4
    position = krs.feedback(lambda n: krs.wrap(n + 1.0, 0.0, float(BAR)))
    # While recording, write the live voice at the playhead; afterwards write
    # into a spare slot (index BAR) so the bar stays as it was recorded.
    # `rec > 0.5` switches at once, although `rec` itself glides.
    write_at = krs.select2(rec > 0.5, float(BAR), position)
    loop = krs.rwtable(BAR + 1, write_at, voice, position)
    return krs.feedback(lambda y: loop + krs.delay(y, 0.3, 1.0) * 0.35)

kr.tempo = 100
lp = kr.node("looper", looper, gain=0.7)
lp @ "C4 E4 G4 [A4 G4]"
kr.wait(bars=1)
lp["rec"] = 0.0     # stop recording: the table now loops what it heard
lp @ None           # hush the notes: only the loop plays
