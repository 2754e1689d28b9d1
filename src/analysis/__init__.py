"""Independent impact evaluation of the Finnish municipal pilots (kuntakokeilut) 2015-2016."""
__version__ = "0.1.0"
