from eibench.cli import main

main()
