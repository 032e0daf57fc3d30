"""A shared board farm: labgrid places as targets (``labgrid://PLACE``, ``labgrid:KEY=VALUE``), reserved through
labgrid's coordinator queue and measured over SSH. labgrid (the ``farm`` extra) is imported only when a farm
target is used."""
