"""Makes ../shared/peers (noise.py: the per-measurement noise probe and the RESULT statistics) importable from
Benchmarks/peers. PEERS names it; by default the shared folder beside the repository's checkout."""
import os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
for candidate in (os.environ.get("PEERS"), os.path.join(HERE, "../../../shared/peers"), "/work/shared/peers"):
    if candidate and os.path.exists(os.path.join(candidate, "noise.py")):
        sys.path.insert(0, os.path.abspath(candidate)); break
else:
    sys.exit("cannot find ../shared/peers/noise.py; set PEERS to the peers folder")
