"""Root pytest configuration: doctests of optional-extra modules are skipped when the extra is missing."""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("matplotlib") else ["dynsys_eos/plot.py", "dynsys_eos/plot_eos.py",
                                                                       "dynsys_eos/plot_sweep.py"]
