# A drum kit as a group: every drum is named drums/…, so gain, mute, solo and
# hush act on "drums" as a whole. The hats swing.
# Render it: ./bin/krach render examples/drum_kit.py -o drums.wav --bars 8

def kick() -> krs.Signal:
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    env = krs.adsr(0.001, 0.25, 0.0, 0.05, gate)
    return krs.sine_osc(55.0 + env * 200.0) * env * 0.9

def snare() -> krs.Signal:
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    env = krs.adsr(0.001, 0.12, 0.0, 0.05, gate)
    body = krs.sine_osc(185.0) * krs.adsr(0.001, 0.05, 0.0, 0.02, gate)
    noise = krs.bandpass(krs.white_noise(), 2500.0, 0.8)
    return (body * 0.6 + noise * 0.8) * env

def hat() -> krs.Signal:
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    env = krs.adsr(0.001, 0.04, 0.0, 0.02, gate)
    return krs.highpass(krs.white_noise(), 8000.0) * env * 0.5

with kr.batch():
    kr.node("drums/kick", kick, gain=0.8)
    kr.node("drums/snare", snare, gain=0.5)
    kr.node("drums/hat", hat, gain=0.4)

kr.tempo = 96
kr["drums/kick"] @ "x ~ ~ x ~ ~ x ~ ~ ~ x ~ ~ ~ ~ ~"
kr["drums/snare"] @ "~ x ~ x"
kr.play("drums/hat", kr.p("x*8"), swing=0.62)

kr.wait(bars=4)
kr.gain("drums", 0.6)        # the whole kit, quieter
kr.wait(bars=2)
kr.mute("drums/hat")
kr.wait(bars=1)
kr.unmute("drums/hat")
