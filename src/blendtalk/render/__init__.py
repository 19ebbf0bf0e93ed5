"""Face rigs, the headless renderer and video encoding."""
