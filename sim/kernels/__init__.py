"""Pure numpy kernels: no I/O, no Mesa, no config objects."""
