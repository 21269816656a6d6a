# The five-minute beat from the getting-started guide, exactly as written there.
# Play it:    ./bin/krach play examples/five_minute_beat.py
# Render it:  ./bin/krach render examples/five_minute_beat.py -o beat.wav --bars 8

def kick() -> krs.Signal:
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    env = krs.adsr(0.001, 0.25, 0.0, 0.05, gate)
    return krs.sine_osc(55.0 + env * 200.0) * env * 0.9

def hat() -> krs.Signal:
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    env = krs.adsr(0.001, 0.04, 0.0, 0.02, gate)
    return krs.highpass(krs.white_noise(), 8000.0) * env * 0.5

def bass() -> krs.Signal:
    freq = krs.control("freq", 55.0, 20.0, 800.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    cutoff = krs.control("cutoff", 800.0, 100.0, 4000.0)
    env = krs.adsr(0.005, 0.15, 0.3, 0.08, gate)
    return krs.lowpass(krs.saw(freq), cutoff) * env * 0.55

def reverb_fx(inp: krs.Signal) -> krs.Signal:
    room = krs.control("room", 0.7, 0.0, 1.0)
    return krs.reverb(inp, room) * 0.8

# Build the graph
with kr.batch():
    k = kr.node("kick", kick, gain=0.8)
    h = kr.node("hat", hat, gain=0.5)
    b = kr.node("bass", bass, gain=0.3)
    verb = kr.node("verb", reverb_fx, gain=0.3)
    b >> (verb, 0.4)

# Play
kr.tempo = 128
k @ (kr.hit() * 4)
h @ ((kr.rest() + kr.hit()) * 4)
b @ kr.seq("A2", "D3", None, "E2").over(2)
b @ ("cutoff", kr.sine(200, 2000).over(4))
