from experiments.cli.main import main

main()
