from softphone_assist.cli import main

raise SystemExit(main())
