import sys

from otel_tokenomics.cli import main

sys.exit(main())
