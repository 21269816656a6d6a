# A pad with four voices: chords sound whole because the node has count=4.
# Render it: ./bin/krach render examples/chord_pad.py -o pad.wav --bars 8

def pad() -> krs.Signal:
    freq = krs.control("freq", 220.0, 20.0, 2000.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    env = krs.adsr(0.4, 0.6, 0.7, 1.2, gate)
    detuned = krs.saw(freq) + krs.saw(freq * 1.004) + krs.square(freq * 0.5, 0.3) * 0.5
    return krs.lowpass(detuned, 1800.0, 4) * env * 0.12

def chorus_fx(inp: krs.Signal) -> krs.Signal:
    return krs.chorus(inp, 0.3, 0.6)

with kr.batch():
    p = kr.node("pad", pad, gain=0.6, count=4)
    c = kr.node("chorus", chorus_fx, gain=0.5)
    p >> c

kr.tempo = 80
p @ kr.cat(kr.note("A3", "C4", "E4", "G4"),
           kr.note("F3", "A3", "C4", "E4"),
           kr.note("C3", "E3", "G3", "B3"),
           kr.note("G3", "B3", "D4", "F#4"))
