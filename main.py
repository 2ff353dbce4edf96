"""cdktf app entry point (``cdktf.json``: ``python main.py``): every environment in environments/."""

import sys

from gkeml.synth import main

if __name__ == "__main__":
    sys.exit(main())
