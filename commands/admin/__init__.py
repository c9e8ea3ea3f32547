"""Admin commands: assets, markets and manual balance adjustments; every one audited."""
