import sys

from gkeml.cli import main

sys.exit(main())
