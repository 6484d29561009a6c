from zonesmith.cli import main

main()
