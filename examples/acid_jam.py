# An acid line over a steady kick, in two scenes: "sparse" and "full".
# The session saves both, starts in "sparse", and after 8 bars recalls "full".
# Render it: ./bin/krach render examples/acid_jam.py -o acid.wav --bars 16

def kick() -> krs.Signal:
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    env = krs.adsr(0.001, 0.2, 0.0, 0.05, gate)
    return krs.sine_osc(50.0 + env * 150.0) * env

def acid() -> krs.Signal:
    freq = krs.control("freq", 110.0, 20.0, 2000.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    cutoff = krs.control("cutoff", 600.0, 80.0, 6000.0)
    q = krs.control("q", 6.0, 0.5, 20.0)
    env = krs.adsr(0.002, 0.12, 0.2, 0.05, gate)
    # The filter opens with every note: the squelch.
    return krs.resonant(krs.saw(freq), cutoff * (1.0 + env * 2.0), q) * env * 0.3

def delay_fx(inp: krs.Signal) -> krs.Signal:
    return krs.echo(inp, 60.0 / 128.0 * 0.75, 0.45)

with kr.batch():
    k = kr.node("kick", kick, gain=0.7)
    a = kr.node("acid", acid, gain=0.5)
    d = kr.node("delay", delay_fx, gain=0.25)
    a >> (d, 0.5)

kr.tempo = 128
k @ (kr.hit() * 4)
a @ "A1 A1 [A2 A1] C2 A1 [~ A1] G1 A2"
a @ ("cutoff", kr.sine(300, 900).over(8))
kr.mute("delay")
kr.save("sparse")

kr.unmute("delay")
a @ "<[A1 A2 C2 A1 E2 A1 G2 A1] [A1 C3 A2 D2 A1 E2 A2 G1]>"
a @ ("cutoff", kr.sine(500, 3500).over(4))
kr.save("full")

kr.recall("sparse")
kr.wait(bars=8)
kr.recall("full")
