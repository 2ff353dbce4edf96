"""cdktf app of the bootstrap stacks (``bootstrap/cdktf.json``): one ``bootstrap-<env>`` per ``<env>.yaml`` here."""

import sys

from gkeml.synth import bootstrap_main as main

if __name__ == "__main__":
    sys.exit(main())
