# SPDX-License-Identifier: MIT
"""The peer that the pool benches measure sandpool against: a cold
/usr/bin/python3 doing what runtime/kernel.py does before it says "ready"
with the default preload set."""

PYTHON = "/usr/bin/python3"
MODULES = "numpy,pandas,matplotlib"   # sandpool's default preload
PEER_WORK = ("import io, numpy, pandas, matplotlib\n"
             "matplotlib.use('Agg')\n"
             "import matplotlib.pyplot as plt\n"
             "from IPython.lib.pretty import pretty\n"
             "f = plt.figure(figsize=(1, 1)); f.gca().set_title('0')\n"
             "f.savefig(io.BytesIO(), format='png'); plt.close(f)\n")
PEER_CODE = PEER_WORK + "print(1+1)"
PEER_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
            "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/.mpl",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "NUMEXPR_NUM_THREADS": "1"}
