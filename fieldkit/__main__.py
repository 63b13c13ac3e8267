import sys

from fieldkit.cli.main import main

sys.exit(main())
