"""A/B updates of the signed OS image (docs/image.md, "Updating").

``bundle``: the signed update bundle's format and its streamed check. ``uki``: what a unified kernel
image says about itself (the root hash on its command line, its os-release). ``slots``: the GPT
slots and the ESP's boot entries, and applying a bundle to the slot not running. ``inbox``: how the
unprivileged API hands a checked bundle (or a reboot) to the root updater, and the status it reads
back. Nothing here reads the clock to decide anything: a signature is valid or not at any date.
"""
