# Binding of the margin core (filled in by its issue's work).
