"""The portal's pages, by audience: residents', the staff console's and the council's."""
