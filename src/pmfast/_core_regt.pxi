# Binding of the regt core (filled in by its issue's work).
