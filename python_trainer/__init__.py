"""k4mlpf's companion trainer: ``python -m python_trainer prepare|pretrain|finetune|evaluate|export|scan``."""
