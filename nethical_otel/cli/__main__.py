import sys

from nethical_otel.cli import main

sys.exit(main())
