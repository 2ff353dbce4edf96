"""cdktf app of the bootstrap stacks (``bootstrap/cdktf.json``): one ``bootstrap-<env>`` per ``<env>.yaml`` here."""

import sys

from gkeml.stacks.bootstrap import main

if __name__ == "__main__":
    sys.exit(main())
