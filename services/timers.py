"""A nameko timer whose interval comes from the container's configuration."""
from nameko.timer import Timer


class ConfiguredTimer(Timer):
    def __init__(self, config_key, default_interval, **kwargs):
        self.config_key = config_key
        super().__init__(interval=default_interval, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key, self.interval))
        super().setup()


configured_timer = ConfiguredTimer.decorator
