"""Exception types raised by sim."""


class SimError(Exception):
    """Base class of every error sim raises on purpose."""


class ScenarioError(SimError, ValueError):
    """A scenario or region file is invalid.

    The message always names the file, the key path (or row and column) and the offending value.
    """

    def __init__(self, file, path, value, message):
        self.file = str(file)
        self.path = str(path)
        self.value = value
        self.message = message
        super().__init__(f"{self.file}: {self.path} = {value!r}: {message}")


class ConvergenceError(SimError, RuntimeError):
    """The equilibrium fixed point did not reach its tolerance."""

    def __init__(self, message, *, iterations, residual, tol, year=None):
        self.iterations = iterations
        self.residual = residual
        self.tol = tol
        self.year = year
        where = f" in year {year}" if year is not None else ""
        super().__init__(
            f"equilibrium did not converge{where}: {message} "
            f"(iterations={iterations}, residual={residual:.3e}, tol={tol:.1e})"
        )


class SweepError(SimError):
    """A sweep folder is missing, incomplete or would be overwritten, or a sweep cannot run."""


class NumericalError(SimError, ArithmeticError):
    """A run produced a non-finite or impossible number.

    The message names year, table, column and place; nothing is written.
    """
