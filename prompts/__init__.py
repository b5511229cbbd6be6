"""Every string the model sees, as jinja2 templates shipped inside the wheel."""
