"""Settings: layered TOML files (machine < user < override, IT policy locks), their checks, the `config` command."""
