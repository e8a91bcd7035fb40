"""TrainPilot: training profiles, one job queue over every trainer, and the native trainer."""
