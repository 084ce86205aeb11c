from salatag.encoder.cli import main

raise SystemExit(main())
