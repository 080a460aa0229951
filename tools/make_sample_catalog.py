#!/usr/bin/env python
"""Generate the embedded sample catalog ``prosper_pyserini/data/sample/`` (deterministic, seeded).

Writes the same raw layout as the real Kaggle Home Depot data, so ``prosper-data sample`` runs the exact
Home Depot code path:

* ``products.jsonl``  ``{"id": product_uid, "title": ...}`` for every product (judged or not);
* ``train.csv``       ``id,product_uid,product_title,search_term,relevance``, Latin-1, strings quoted,
                      relevance = mean of three simulated 1-3 ratings (1, 1.33, ..., 3), rows by product.

Products are built from hand-written home-improvement templates (brands, model-number patterns,
attributes). Each query states which product attributes make a product an exact match (true level 3) or a
partial one (level 2); everything else is level 1. Three simulated raters each report the true level, or
one step off with probability ``NOISE``. The judged pool per query mixes exact, partial and lexical
"confusers" (irrelevant products sharing a query word) - the shallow pooled judgments of the real data.
Queries are of mixed styles (generic, brand, model number, attribute, misspelled, synonym), so BM25 does
well but not perfectly. Run: ``python tools/make_sample_catalog.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

SEED = 13
NOISE = 0.15
FIRST_UID = 300001
OUT = Path(__file__).resolve().parents[1] / "prosper_pyserini" / "data" / "sample"


@dataclass
class Type:
    key: str
    category: str
    brands: dict[str, str]  # brand -> model-number mask ('#' = a digit)
    variants: list[tuple[str, dict]]  # title template, attributes (a list value = choose one)
    n: int


@dataclass
class Product:
    uid: str
    title: str
    attrs: dict = field(default_factory=dict)


V = Type  # keeps the table below readable

TYPES: list[Type] = [
    # ------------------------------------------------------------------ tools
    V("drill", "tools", {"DEWALT": "DCD7#1C2", "Milwaukee": "28#1-22CT", "Makita": "XFD1#R", "RYOBI": "PCL2#6K2",
                         "RIDGID": "R860##K", "Bosch": "GSR18V-#00B2"}, [
        ("{brand} {volt}V MAX Cordless Brushless 1/2 in. Drill/Driver Kit {model}", {"power": "cordless", "volt": ["20"]}),
        ("{brand} {volt}-Volt Lithium-Ion Compact 1/2 in. Drill Driver Kit with (2) Batteries {model}", {"power": "cordless", "volt": ["12", "18"]}),
        ("{brand} {volt}V Cordless Hammer Drill with Battery and Charger {model}", {"power": "cordless", "volt": ["18", "20"]}),
        ("{brand} 7 Amp Corded 3/8 in. Variable Speed Reversible Drill {model}", {"power": "corded"}),
    ], 14),
    V("impact_driver", "tools", {"DEWALT": "DCF8#7B", "Milwaukee": "2#53-20", "Makita": "XDT1#Z", "RYOBI": "PBLID0#B"}, [
        ("{brand} {volt}V Brushless Cordless 1/4 in. Hex Impact Driver (Tool-Only) {model}", {"power": "cordless", "volt": ["18", "20"]}),
    ], 6),
    V("circular_saw", "tools", {"DEWALT": "DCS5#5B", "Makita": "XSH0#Z", "SKIL": "5280-0#", "RYOBI": "PBLCS#00B"}, [
        ("{brand} {volt}V Cordless 7-1/4 in. Circular Saw (Tool Only) {model}", {"power": "cordless", "volt": ["18", "20"]}),
        ("{brand} 15 Amp Corded 7-1/4 in. Circular Saw with Laser Guide {model}", {"power": "corded"}),
    ], 7),
    V("recip_saw", "tools", {"Milwaukee": "2#21-20", "DEWALT": "DCS38#B", "RIDGID": "R86#1B"}, [
        ("{brand} {volt}V Cordless Reciprocating Saw (Tool-Only) {model}", {"power": "cordless", "volt": ["18", "20"]}),
        ("{brand} 12 Amp Corded Orbital Reciprocating Saw Kit {model}", {"power": "corded"}),
    ], 5),
    V("drill_bits", "tools", {"DEWALT": "DW13##", "Bosch": "TI2#", "Milwaukee": "48-89-#8##"}, [
        ("{brand} Titanium Pilot Point Drill Bit Set ({pieces}-Piece) {model}", {"pieces": ["14", "21", "29"]}),
        ("{brand} Impact Ready Driver Bit Set ({pieces}-Piece) {model}", {"pieces": ["40", "55"]}),
    ], 6),
    V("hammer", "tools", {"Estwing": "E3-#S", "Stanley": "51-#6#", "Husky": "N-G#6"}, [
        ("{brand} {oz} oz. Rip Claw Framing Hammer with Shock Reduction Grip {model}", {"oz": ["16", "20", "22"]}),
    ], 4),
    V("tape_measure", "tools", {"Stanley": "33-#25", "Milwaukee": "48-22-#7#5", "Komelon": "SL2#25"}, [
        ("{brand} {ft} ft. x 1 in. Power Lock Tape Measure {model}", {"ft": ["16", "25", "30"]}),
    ], 4),
    V("shop_vac", "tools", {"RIDGID": "HD#200", "Shop-Vac": "58#2500", "CRAFTSMAN": "CMXEVBE17#95"}, [
        ("{brand} {gal} Gal. 5.0-Peak HP NXT Wet/Dry Shop Vacuum with Filter and Hose {model}", {"gal": ["9", "12", "16"]}),
    ], 5),
    # ------------------------------------------------------------------ paint
    V("interior_paint", "paint", {"BEHR": "PPU1#-##", "Glidden": "GLN#", "PPG Diamond": "PPG1#0"}, [
        ("{brand} 1 gal. {color} {sheen} Enamel Interior Paint and Primer {model}",
         {"color": ["Ultra Pure White", "Polar Bear", "Swiss Coffee", "Silver Drop", "Sea Salt"],
          "sheen": ["Eggshell", "Satin", "Flat", "Semi-Gloss"]}),
    ], 12),
    V("exterior_paint", "paint", {"BEHR": "MQ#-##", "Glidden": "GLX#", "Valspar": "0#4-82"}, [
        ("{brand} Marquee 1 gal. {color} {sheen} Exterior Paint and Primer {model}",
         {"color": ["Ultra Pure White", "Deep Base", "Cracked Pepper"], "sheen": ["Flat", "Satin"]}),
    ], 6),
    V("deck_stain", "paint", {"BEHR": "DP#3", "Thompson's WaterSeal": "TH.0#15", "Cabot": "140.00#"}, [
        ("{brand} 1 gal. {color} Semi-Transparent Waterproofing Exterior Wood Stain {model}",
         {"color": ["Cedar", "Redwood", "Natural", "Cordovan Brown"]}),
    ], 6),
    V("spray_paint", "paint", {"Rust-Oleum": "249#2", "Krylon": "K05#1"}, [
        ("{brand} 12 oz. {color} Gloss General Purpose Spray Paint {model}", {"color": ["Black", "White", "Hunter Green", "Red"]}),
        ("{brand} Painter's Touch 2X 12 oz. {color} Satin Spray Paint {model}", {"color": ["Black", "White", "Navy"]}),
    ], 7),
    V("paint_roller", "paint", {"Wooster": "R1#-9", "Purdy": "14A8#0", "Linzer": "RS9#"}, [
        ("{brand} 9 in. x {nap} in. Microfiber Paint Roller Cover (3-Pack) {model}", {"nap": ["3/8", "1/2", "3/4"]}),
        ("{brand} 9 in. Paint Roller Frame and Tray Kit {model}", {}),
    ], 5),
    V("paint_brush", "paint", {"Purdy": "1441#0", "Wooster": "Q31#", "Linzer": "1#40"}, [
        ("{brand} {inch} in. Nylox Angled Sash Paint Brush {model}", {"inch": ["1-1/2", "2", "2-1/2", "3"]}),
    ], 5),
    V("painters_tape", "paint", {"ScotchBlue": "2090-#8", "FrogTape": "14#6"}, [
        ("{brand} 1.88 in. x 60 yds. Original Multi-Surface Painter's Tape {model}", {}),
    ], 3),
    V("primer", "paint", {"KILZ": "1#211", "Zinsser": "0#501"}, [
        ("{brand} Original 1 gal. White Oil-Based Interior Primer Sealer and Stain Blocker {model}", {}),
        ("{brand} Bulls Eye 1-2-3 1 gal. White Water-Based Primer {model}", {}),
    ], 4),
    V("caulk", "paint", {"DAP": "180#8", "GE": "GE5#00"}, [
        ("{brand} Alex Plus 10.1 oz. White Acrylic Latex Caulk Plus Silicone {model}", {}),
        ("{brand} 10.1 oz. Clear 100% Silicone Kitchen and Bath Caulk {model}", {}),
    ], 4),
    # ------------------------------------------------------------------ plumbing
    V("kitchen_faucet", "plumbing", {"Moen": "87#33SRS", "Delta": "9#59-AR-DST", "Glacier Bay": "HD67#-1#01",
                                     "Pfister": "F-529-7#S"}, [
        ("{brand} {line} Single-Handle Pull-Down Sprayer Kitchen Faucet in {finish} {model}",
         {"line": ["Arbor", "Essa", "Leland", "Brislin"], "finish": ["Stainless", "Matte Black", "Chrome"]}),
    ], 10),
    V("bath_faucet", "plumbing", {"Moen": "WS8#912", "Delta": "25#-MPU-DST", "Glacier Bay": "F51A#1"}, [
        ("{brand} 4 in. Centerset 2-Handle Bathroom Faucet in {finish} {model}", {"finish": ["Chrome", "Brushed Nickel", "Oil Rubbed Bronze"]}),
    ], 6),
    V("toilet", "plumbing", {"American Standard": "2#8DA.104.020", "KOHLER": "K-3#99-0", "Glacier Bay": "N2#16"}, [
        ("{brand} Cadet 3 {pieces}-Piece 1.28 GPF Single Flush {shape} Toilet in White {model}",
         {"pieces": ["2", "1"], "shape": ["Elongated", "Round"]}),
    ], 8),
    V("water_heater", "plumbing", {"Rheem": "XG40T06EC#8U0", "A.O. Smith": "GCR-#0", "Rinnai": "RU1#9iN"}, [
        ("{brand} Performance {gal} Gal. Short 6 Year 38,000 BTU Natural Gas Tank Water Heater {model}", {"kind": "tank", "gal": ["40", "50"]}),
        ("{brand} 9.5 GPM Natural Gas Indoor Tankless Water Heater {model}", {"kind": "tankless"}),
        ("{brand} {gal} Gal. 4500-Watt Electric Tank Water Heater {model}", {"kind": "tank", "gal": ["30", "50"]}),
    ], 8),
    V("shower_head", "plumbing", {"Delta": "52#69-PK", "Moen": "2#123", "Waterpik": "VBR-8#3"}, [
        ("{brand} {settings}-Spray 6.8 in. Single Wall Mount Fixed Rain Shower Head in {finish} {model}",
         {"settings": ["1", "5", "7"], "finish": ["Chrome", "Brushed Nickel"]}),
        ("{brand} 5-Spray Handheld Shower Head with Hose in {finish} {model}", {"finish": ["Chrome", "Matte Black"]}),
    ], 7),
    V("pvc_fitting", "plumbing", {"Charlotte Pipe": "PVC 023#0 0#00HA", "SharkBite": "U#48LFA"}, [
        ("{brand} 1/2 in. PVC Schedule 40 90-Degree S x S Elbow Fitting {model}", {}),
        ("{brand} 3/4 in. Push-to-Connect Brass Coupling {model}", {}),
        ("{brand} 2 in. x 10 ft. PVC Schedule 40 Plain-End Pipe {model}", {}),
    ], 5),
    V("flapper", "plumbing", {"Fluidmaster": "50#P21", "Korky": "10#BP"}, [
        ("{brand} 2 in. Long Life Toilet Flapper with Chain {model}", {}),
        ("{brand} 3 in. Universal Water Saving Toilet Flapper {model}", {}),
    ], 3),
    V("disposal", "plumbing", {"InSinkErator": "BADGER #XP", "Waste King": "L-#000"}, [
        ("{brand} Badger {hp} HP Continuous Feed Garbage Disposal {model}", {"hp": ["1/3", "1/2", "3/4"]}),
    ], 4),
    # ------------------------------------------------------------------ lighting
    V("led_bulb", "lighting", {"Philips": "5#7101", "Feit Electric": "A8#0/8#/10K", "EcoSmart": "A19-#0W"}, [
        ("{brand} {watt}-Watt Equivalent A19 Non-Dimmable LED Light Bulb {color} (4-Pack) {model}",
         {"watt": ["40", "60", "100"], "color": ["Soft White", "Daylight"]}),
        ("{brand} {watt}-Watt Equivalent BR30 Dimmable LED Flood Light Bulb {color} (6-Pack) {model}",
         {"watt": ["65"], "color": ["Soft White", "Bright White"]}),
    ], 12),
    V("ceiling_fan", "lighting", {"Hunter": "5#040", "Hampton Bay": "AL#83-BN", "Home Decorators Collection": "YG#93"}, [
        ("{brand} {name} {inch} in. LED Indoor {finish} Ceiling Fan with Light Kit and Remote {model}",
         {"name": ["Glendale", "Ashby", "Merwry", "Dempsey"], "inch": ["44", "52", "60"],
          "finish": ["Brushed Nickel", "Matte Black", "Bronze"], "light": "yes"}),
        ("{brand} {name} {inch} in. Indoor/Outdoor {finish} Ceiling Fan without Light {model}",
         {"name": ["Windward", "Builder"], "inch": ["52"], "finish": ["White", "Bronze"], "light": "no"}),
    ], 10),
    V("pendant", "lighting", {"Globe Electric": "6#2", "Progress Lighting": "P5#00-31"}, [
        ("{brand} 1-Light {finish} Mini Pendant with Seeded Glass Shade {model}", {"finish": ["Matte Black", "Brushed Nickel", "Oil Rubbed Bronze"]}),
    ], 5),
    V("flush_mount", "lighting", {"Commercial Electric": "FMDL13#9", "Hampton Bay": "HB#81"}, [
        ("{brand} 13 in. {finish} Dimmable LED Flush Mount Ceiling Light {model}", {"finish": ["White", "Brushed Nickel"]}),
    ], 4),
    V("outdoor_light", "lighting", {"Hampton Bay": "HWL#2-BK", "Westinghouse": "6#04"}, [
        ("{brand} 1-Light Black Outdoor Wall Lantern Sconce with Dusk to Dawn Sensor {model}", {}),
        ("{brand} Solar LED Black Outdoor Path Light (6-Pack) {model}", {}),
    ], 5),
    V("under_cabinet", "lighting", {"Commercial Electric": "UCL-#18", "GE": "38#37"}, [
        ("{brand} 18 in. LED Plug-In Under Cabinet Light Bar {model}", {}),
    ], 3),
    # ------------------------------------------------------------------ flooring
    V("vinyl_plank", "flooring", {"LifeProof": "I9#6106L", "TrafficMaster": "34#510", "Home Decorators Collection": "VTR#0"}, [
        ("{brand} {wood} {thick} MIL x 8.7 in. W x 48 in. L Click Lock Waterproof Luxury Vinyl Plank Flooring (20.1 sq. ft./case) {model}",
         {"wood": ["Sterling Oak", "Seasoned Wood", "Alpine Hickory", "Coastal Maple"], "thick": ["12", "22"]}),
    ], 8),
    V("laminate", "flooring", {"Pergo": "LF00#79", "TrafficMaster": "3#1211"}, [
        ("{brand} Outlast+ {wood} 10 mm T x 7.48 in. W Waterproof Laminate Wood Flooring (19.63 sq. ft./case) {model}",
         {"wood": ["Vintage Pewter Oak", "Applewood", "Waterproof Natural Oak"]}),
    ], 5),
    V("tile", "flooring", {"Daltile": "RE0#1224", "MSI": "NHDCARWHI#X24", "Marazzi": "UH#5"}, [
        ("{brand} {name} 12 in. x 24 in. Glazed Porcelain Floor and Wall Tile (15.6 sq. ft./case) {model}",
         {"name": ["Restore Bright White", "Carrara White", "Montagna Wood"]}),
        ("{brand} {name} 3 in. x 6 in. Ceramic Subway Wall Tile (12.5 sq. ft./case) {model}", {"name": ["Arctic White", "Gloss White"]}),
    ], 7),
    V("hardwood", "flooring", {"Bruce": "CB#21", "Shaw": "SW#65"}, [
        ("{brand} {wood} 3/4 in. T x 2-1/4 in. W Solid Hardwood Flooring (20 sq. ft./case) {model}",
         {"wood": ["Gunstock Oak", "Natural Red Oak", "Butterscotch Oak"]}),
    ], 4),
    V("underlayment", "flooring", {"QEP": "72#00Q", "Roberts": "70-1#5"}, [
        ("{brand} 100 sq. ft. 3 mm Foam Underlayment with Moisture Barrier for Laminate and Vinyl {model}", {}),
    ], 2),
    V("grout", "flooring", {"Custom Building Products": "PMG#0910", "Mapei": "6BU00#05"}, [
        ("{brand} Polyblend #{n} {color} 10 lb. Sanded Grout {model}", {"n": ["381", "09", "165"], "color": ["Bright White", "Natural Gray", "Delorean Gray"]}),
    ], 3),
    # ------------------------------------------------------------------ appliances
    V("refrigerator", "appliances", {"Samsung": "RF28R7#51SR", "LG": "LRMVS3#06S", "Whirlpool": "WRF5#5SDHZ",
                                    "GE": "GNE27J#MFS", "Frigidaire": "FRTD2#21AW"}, [
        ("{brand} {cu} cu. ft. 3-Door French Door Refrigerator in {finish} {model}",
         {"style": "french door", "cu": ["25", "28"], "finish": ["Fingerprint Resistant Stainless Steel", "Black Stainless Steel"]}),
        ("{brand} {cu} cu. ft. Side by Side Refrigerator in {finish} {model}",
         {"style": "side by side", "cu": ["22", "25"], "finish": ["Stainless Steel", "White"]}),
        ("{brand} {cu} cu. ft. Top Freezer Refrigerator in {finish} {model}",
         {"style": "top freezer", "cu": ["18", "20"], "finish": ["White", "Stainless Steel"]}),
    ], 12),
    V("dishwasher", "appliances", {"Bosch": "SHX78C#5N", "Samsung": "DW80R5#61US", "Whirlpool": "WDT7#0SAHZ"}, [
        ("{brand} 24 in. Top Control Built-In Tall Tub Dishwasher in {finish} with Third Rack, {db} dBA {model}",
         {"finish": ["Stainless Steel", "Black Stainless Steel"], "db": ["44", "48", "51"]}),
    ], 6),
    V("washer", "appliances", {"LG": "WM3#00HWA", "Samsung": "WF45T6#00AW", "Maytag": "MVW6#30HW"}, [
        ("{brand} {cu} cu. ft. High Efficiency {load} Load Washer in White {model}", {"cu": ["4.5", "5.0"], "load": ["Front", "Top"]}),
    ], 6),
    V("dryer", "appliances", {"LG": "DLE3#00W", "Samsung": "DVE45T6#00W"}, [
        ("{brand} 7.4 cu. ft. Vented {fuel} Dryer in White {model}", {"fuel": ["Electric", "Gas"]}),
    ], 4),
    V("microwave", "appliances", {"GE": "JVM3#60RFSS", "Whirlpool": "WMH31#17HZ", "Samsung": "ME19R7#41FS"}, [
        ("{brand} {cu} cu. ft. Over the Range Microwave in Stainless Steel with Sensor Cooking {model}", {"mount": "otr", "cu": ["1.7", "1.9"]}),
        ("{brand} 1.1 cu. ft. Countertop Microwave in Black {model}", {"mount": "countertop"}),
    ], 6),
    V("air_conditioner", "appliances", {"LG": "LW8016E#", "Frigidaire": "FFRE0#33U1", "GE": "AHEC0#AC"}, [
        ("{brand} {btu},000 BTU 115-Volt Window Air Conditioner with Remote {model}", {"btu": ["6", "8", "10", "12"]}),
        ("{brand} {btu},000 BTU Portable Air Conditioner with Dehumidifier {model}", {"btu": ["8", "10"]}),
    ], 7),
    V("dehumidifier", "appliances", {"Frigidaire": "FFAD#033W1", "hOmeLabs": "HME0200#0"}, [
        ("{brand} {pint}-Pint Dehumidifier with Built-In Pump {model}", {"pint": ["35", "50"]}),
    ], 3),
    # ------------------------------------------------------------------ garden
    V("lawn_mower", "garden", {"Toro": "2#442", "Honda": "HRN2#6VKA", "EGO": "LM2#02", "RYOBI": "RY401#",
                               "CRAFTSMAN": "CMXGMAM1#5S"}, [
        ("{brand} Recycler {inch} in. 140cc Gas Walk Behind Self-Propelled Lawn Mower with Briggs &amp; Stratton Engine {model}",
         {"power": "gas", "drive": "self-propelled", "inch": ["21", "22"]}),
        ("{brand} {inch} in. 170cc Gas Push Lawn Mower {model}", {"power": "gas", "drive": "push", "inch": ["20", "21"]}),
        ("{brand} {inch} in. 56V Cordless Battery Walk Behind Push Lawn Mower with 5.0Ah Battery {model}",
         {"power": "battery", "drive": "push", "inch": ["18", "20", "21"]}),
        ("{brand} {inch} in. 12 Amp Corded Electric Walk Behind Push Mower {model}", {"power": "electric", "drive": "push", "inch": ["18", "20"]}),
    ], 14),
    V("mower_blade", "garden", {"Toro": "1#-1575", "Oregon": "91-#05"}, [
        ("{brand} {inch} in. Replacement Lawn Mower Blade {model}", {"inch": ["18", "21", "22"]}),
    ], 3),
    V("string_trimmer", "garden", {"EGO": "ST15#0", "RYOBI": "P2#80", "Echo": "GT-2#5", "BLACK+DECKER": "LST5#2"}, [
        ("{brand} {volt}V 15 in. Cordless Battery String Trimmer {model}", {"power": "battery", "volt": ["18", "40", "56"]}),
        ("{brand} 21.2 cc Gas 2-Stroke Curved Shaft String Trimmer {model}", {"power": "gas"}),
    ], 7),
    V("leaf_blower", "garden", {"EGO": "LB6#04", "RYOBI": "RY4#440", "Toro": "5#602"}, [
        ("{brand} 530 CFM {volt}V Cordless Battery Leaf Blower {model}", {"power": "battery", "volt": ["40", "56"]}),
        ("{brand} 250 MPH 12 Amp Electric Handheld Leaf Blower {model}", {"power": "electric"}),
    ], 6),
    V("garden_hose", "garden", {"Flexzilla": "HFZG5#0YW", "Gilmour": "8#4850"}, [
        ("{brand} 5/8 in. x {ft} ft. Heavy-Duty Garden Hose {model}", {"ft": ["50", "75", "100"]}),
    ], 4),
    V("mulch", "garden", {"Vigoro": "5#100", "Scotts": "881#180"}, [
        ("{brand} 2 cu. ft. Bagged {color} Wood Mulch {model}", {"color": ["Brown", "Black", "Red"]}),
    ], 4),
    V("potting_soil", "garden", {"Miracle-Gro": "75#5330", "Vigoro": "52#90"}, [
        ("{brand} 1 cu. ft. Indoor and Outdoor Potting Soil Mix {model}", {}),
    ], 3),
    # ------------------------------------------------------------------ electrical
    V("wire", "electrical", {"Southwire": "28#27422", "Cerrowire": "14#-3002B"}, [
        ("{brand} 250 ft. {gauge} Solid Romex SIMpull CU NM-B W/G Wire {model}", {"gauge": ["12/2", "14/2", "10/2"]}),
        ("{brand} 500 ft. 12-Gauge Solid THHN Copper Wire in Black {model}", {"gauge": "12 thhn"}),
    ], 6),
    V("outlet", "electrical", {"Leviton": "GFNT#-W", "Legrand": "1597TRW#"}, [
        ("{brand} 15 Amp 125-Volt Self-Test Tamper Resistant GFCI Outlet, White {model}", {"kind": "gfci"}),
        ("{brand} 15 Amp Tamper Resistant Duplex Outlet, White (10-Pack) {model}", {"kind": "duplex"}),
        ("{brand} 15 Amp Type A and C USB Charger Duplex Outlet, White {model}", {"kind": "usb"}),
    ], 6),
    V("switch", "electrical", {"Lutron": "DVCL-15#P-WH", "Leviton": "R62-5#01-02W"}, [
        ("{brand} Diva LED+ Dimmer Switch for Dimmable LED and Incandescent Bulbs, Single-Pole or 3-Way, White {model}", {"dimmer": "yes"}),
        ("{brand} 15 Amp Single-Pole Decora Rocker Light Switch, White (10-Pack) {model}", {"dimmer": "no"}),
    ], 5),
    V("breaker", "electrical", {"Square D": "HOM1#0CP", "Eaton": "BR1#0"}, [
        ("{brand} Homeline {amp} Amp Single-Pole Circuit Breaker {model}", {"amp": ["15", "20"]}),
        ("{brand} {amp} Amp 2-Pole GFCI Circuit Breaker {model}", {"amp": ["30", "50"]}),
    ], 5),
    V("extension_cord", "electrical", {"HDX": "HD#-488", "Southwire": "2#08SW8802"}, [
        ("{brand} {ft} ft. 16/3 Light Duty Indoor/Outdoor Extension Cord, Orange {model}", {"ft": ["25", "50", "100"]}),
    ], 4),
    V("electrical_box", "electrical", {"Carlon": "B1#8R", "Commercial Electric": "5#2A"}, [
        ("{brand} 1-Gang 18 cu. in. PVC Old Work Electrical Box {model}", {}),
    ], 2),
    # ------------------------------------------------------------------ hardware
    V("screws", "hardware", {"Grip-Rite": "158CDWS#", "GRK Fasteners": "1#710", "Everbilt": "8#4523"}, [
        ("{brand} #6 x 1-5/8 in. Philips Bugle-Head Coarse Thread Drywall Screws (1 lb.-Pack) {model}", {"use": "drywall"}),
        ("{brand} #9 x 3 in. Star Drive Bugle Head Exterior Deck Screws (5 lb.-Pack) {model}", {"use": "deck"}),
        ("{brand} #8 x 1-1/4 in. Phillips Flat Head Zinc Plated Wood Screw (100-Pack) {model}", {"use": "wood"}),
    ], 8),
    V("nails", "hardware", {"Paslode": "6502#6", "Grip-Rite": "3#HGRS"}, [
        ("{brand} 3 in. x 0.131-Gauge 30Â° Galvanized Ring Shank Paper Tape Framing Nails (2,000-Pack) {model}", {}),
        ("{brand} 3-1/2 in. 16D Common Bright Steel Nails (5 lb.-Pack) {model}", {}),
    ], 4),
    V("door_knob", "hardware", {"Kwikset": "9#0TLL", "Schlage": "F5#GEO619"}, [
        ("{brand} Tylo {finish} Entry Door Knob Featuring SmartKey Security {model}", {"finish": ["Satin Nickel", "Venetian Bronze"], "function": "entry"}),
        ("{brand} Juno {finish} Hall/Closet Passage Door Knob {model}", {"finish": ["Satin Nickel", "Polished Brass"], "function": "passage"}),
    ], 6),
    V("deadbolt", "hardware", {"Kwikset": "9#0 SMT", "Schlage": "B60#N"}, [
        ("{brand} {finish} Single Cylinder Deadbolt Featuring SmartKey Security {model}", {"finish": ["Satin Nickel", "Venetian Bronze"]}),
    ], 4),
    V("cabinet_pull", "hardware", {"Liberty": "P0#52C-SN-CP", "Amerock": "BP5#71"}, [
        ("{brand} {size} in. ({mm} mm) {finish} Bar Cabinet Drawer Pull (10-Pack) {model}",
         {"size": ["3", "5-1/16"], "mm": ["76", "128"], "finish": ["Satin Nickel", "Matte Black"]}),
    ], 5),
    V("hinge", "hardware", {"Everbilt": "1#496", "National Hardware": "N8#0-212"}, [
        ("{brand} 3-1/2 in. {finish} Square Corner Door Hinge (3-Pack) {model}", {"finish": ["Satin Nickel", "Oil-Rubbed Bronze"]}),
    ], 3),
    V("anchors", "hardware", {"E-Z Ancor": "25#1", "Toggler": "BA-#"}, [
        ("{brand} Twist-N-Lock #8 x 1-1/4 in. Drywall Anchors with Screws (20-Pack) {model}", {}),
        ("{brand} SnapToggle 1/4 in.-20 Heavy-Duty Toggle Bolt (4-Pack) {model}", {}),
    ], 3),
    # ------------------------------------------------------------------ storage
    V("garage_shelving", "storage", {"Husky": "N2W#7723W5", "HDX": "21#656W", "Gladiator": "GAR#48"}, [
        ("{brand} 5-Tier Steel Garage Storage Shelving Unit in Black ({w} in. W x 72 in. H x 24 in. D) {model}", {"w": ["36", "48", "77"]}),
        ("{brand} 4-Tier Plastic Freestanding Garage Storage Shelving Unit ({w} in. W x 56 in. H) {model}", {"w": ["36"]}),
    ], 6),
    V("tool_chest", "storage", {"Husky": "H52CH6TR#", "CRAFTSMAN": "CMST9#1"}, [
        ("{brand} {w} in. W x 24.4 in. D {drawers}-Drawer Mobile Tool Chest and Cabinet Combo in Gloss Black {model}",
         {"w": ["41", "52", "61"], "drawers": ["9", "15", "18"]}),
        ("{brand} 26 in. 3-Drawer Portable Tool Box {model}", {}),
    ], 6),
    V("storage_bin", "storage", {"Sterilite": "14#78008", "HDX": "HDX#7QT"}, [
        ("{brand} {qt} Qt. Latching Storage Tote in Clear with Blue Lid (6-Pack) {model}", {"qt": ["27", "32", "56"]}),
        ("{brand} 27 Gal. Tough Storage Tote in Black with Yellow Lid {model}", {}),
    ], 5),
    V("closet", "storage", {"ClosetMaid": "1#8800", "Rubbermaid": "FG3H8#"}, [
        ("{brand} {ft} ft. to {ft2} ft. White Wire Closet Organizer Kit {model}", {"ft": ["4", "5"], "ft2": ["8", "10"]}),
    ], 4),
    V("hooks", "storage", {"Everbilt": "3#1934", "Crawford": "SPHM#2"}, [
        ("{brand} Steel Garage Storage Utility Hook for Ladders and Bikes (6-Pack) {model}", {}),
    ], 3),
]


# (brand, variant index, attribute values) of products made first, so that each query has an exact match.
PINS: dict[str, list[tuple[str, int, dict]]] = {
    "interior_paint": [("BEHR", 0, {"color": "Ultra Pure White", "sheen": "Eggshell"}),
                       ("Glidden", 0, {"color": "Swiss Coffee", "sheen": "Satin"})],
    "tape_measure": [("Stanley", 0, {"ft": "25"})],
    "spray_paint": [("Rust-Oleum", 0, {"color": "Black"}), ("Rust-Oleum", 1, {"color": "Black"})],
    "kitchen_faucet": [("Moen", 0, {"line": "Arbor", "finish": "Matte Black"})],
    "bath_faucet": [("Delta", 0, {"finish": "Brushed Nickel"})],
    "water_heater": [("Rheem", 0, {"gal": "40"}), ("Rinnai", 1, {})],
    "led_bulb": [("Philips", 0, {"watt": "60", "color": "Daylight"})],
    "ceiling_fan": [("Hampton Bay", 0, {"name": "Glendale", "inch": "52", "finish": "Brushed Nickel"})],
    "refrigerator": [("Samsung", 0, {"cu": "28", "finish": "Black Stainless Steel"})],
    "washer": [("LG", 0, {"cu": "4.5", "load": "Front"})],
    "dryer": [("Samsung", 0, {"fuel": "Gas"})],
    "lawn_mower": [("Toro", 0, {"inch": "22"}), ("RYOBI", 2, {"inch": "18"}), ("Honda", 0, {"inch": "21"})],
    "garden_hose": [("Flexzilla", 0, {"ft": "100"})],
    "mulch": [("Vigoro", 0, {"color": "Black"})],
    "wire": [("Southwire", 0, {"gauge": "12/2"})],
    "breaker": [("Square D", 0, {"amp": "20"})],
    "cabinet_pull": [("Liberty", 0, {"size": "3", "mm": "76", "finish": "Matte Black"})],
    "deadbolt": [("Schlage", 0, {"finish": "Satin Nickel"})],
    "drill": [("DEWALT", 0, {"volt": "20"}), ("RYOBI", 1, {"volt": "18"})],
}


@dataclass
class Query:
    text: str
    style: str
    exact: list[dict]
    partial: list[dict] = field(default_factory=list)


def Q(text: str, style: str, exact: dict | list[dict], partial: list | None = None) -> Query:
    exact = exact if isinstance(exact, list) else [exact]
    partial = [p if isinstance(p, dict) else {"type": p} for p in (partial or [])]
    return Query(text, style, exact, partial)


# Model-number queries are added at run time, from generated products.
QUERIES: list[Query] = [
    Q("cordless drill", "generic", {"type": "drill", "power": "cordless"}, ["drill", "impact_driver"]),
    Q("dewalt drill", "brand", {"type": "drill", "brand": "DEWALT"}, ["drill", "impact_driver"]),
    Q("milwaukee drill driver", "brand", {"type": "drill", "brand": "Milwaukee"}, ["drill", "impact_driver"]),
    Q("driil", "misspelling", {"type": "drill"}, ["impact_driver"]),
    Q("18 volt drill", "attribute", {"type": "drill", "volt": "18"}, ["drill", "impact_driver"]),
    Q("impact driver", "generic", {"type": "impact_driver"}, ["drill"]),
    Q("circular saw", "generic", {"type": "circular_saw"}, ["recip_saw"]),
    Q("sawzall", "synonym", {"type": "recip_saw"}, ["circular_saw"]),
    Q("drill bits", "generic", {"type": "drill_bits"}, []),
    Q("framing hammer", "generic", {"type": "hammer"}, []),
    Q("25 ft tape measure", "attribute", {"type": "tape_measure", "ft": "25"}, ["tape_measure"]),
    Q("shop vac", "synonym", {"type": "shop_vac"}, []),
    Q("ridgid wet dry vac", "brand", {"type": "shop_vac", "brand": "RIDGID"}, ["shop_vac"]),
    Q("interior paint", "generic", {"type": "interior_paint"}, ["exterior_paint", "primer"]),
    Q("behr ultra pure white eggshell", "attribute", {"type": "interior_paint", "color": "Ultra Pure White", "sheen": "Eggshell"},
      ["interior_paint", "exterior_paint"]),
    Q("swiss coffee paint", "attribute", {"type": ("interior_paint", "exterior_paint"), "color": "Swiss Coffee"},
      ["interior_paint", "exterior_paint"]),
    Q("exterior house paint", "generic", {"type": "exterior_paint"}, ["interior_paint", "deck_stain"]),
    Q("deck stain", "generic", {"type": "deck_stain"}, ["exterior_paint"]),
    Q("rustoleum black spray paint", "brand", {"type": "spray_paint", "brand": "Rust-Oleum", "color": "Black"}, ["spray_paint"]),
    Q("paint roller", "generic", {"type": "paint_roller"}, ["paint_brush"]),
    Q("angled paint brush", "generic", {"type": "paint_brush"}, ["paint_roller"]),
    Q("blue painters tape", "generic", {"type": "painters_tape"}, []),
    Q("kilz primer", "brand", {"type": "primer", "brand": "KILZ"}, ["primer"]),
    Q("silicone caulk", "generic", {"type": "caulk"}, []),
    Q("kitchen faucet", "generic", {"type": "kitchen_faucet"}, ["bath_faucet"]),
    Q("moen kitchen facet", "misspelling", {"type": "kitchen_faucet", "brand": "Moen"}, ["kitchen_faucet", "bath_faucet"]),
    Q("matte black kitchen faucet", "attribute", {"type": "kitchen_faucet", "finish": "Matte Black"}, ["kitchen_faucet"]),
    Q("bathroom sink faucet brushed nickel", "attribute", {"type": "bath_faucet", "finish": "Brushed Nickel"}, ["bath_faucet", "kitchen_faucet"]),
    Q("elongated toilet", "attribute", {"type": "toilet", "shape": "Elongated"}, ["toilet"]),
    Q("one piece toilet", "attribute", {"type": "toilet", "pieces": "1"}, ["toilet"]),
    Q("tankless water heater", "generic", {"type": "water_heater", "kind": "tankless"}, ["water_heater"]),
    Q("40 gallon gas water heater", "attribute", {"type": "water_heater", "gal": "40"}, ["water_heater"]),
    Q("rain shower head", "generic", {"type": "shower_head"}, []),
    Q("hand held shower", "synonym", {"type": "shower_head"}, []),
    Q("pvc elbow", "generic", {"type": "pvc_fitting"}, []),
    Q("toilet flapper", "generic", {"type": "flapper"}, ["toilet"]),
    Q("garbage disposal", "generic", {"type": "disposal"}, []),
    Q("insinkerator badger", "brand", {"type": "disposal", "brand": "InSinkErator"}, ["disposal"]),
    Q("led light bulbs", "generic", {"type": "led_bulb"}, []),
    Q("60w equivalent daylight bulb", "attribute", {"type": "led_bulb", "watt": "60", "color": "Daylight"}, ["led_bulb"]),
    Q("ceiling fan with light", "generic", {"type": "ceiling_fan", "light": "yes"}, ["ceiling_fan", "flush_mount"]),
    Q("52 inch ceiling fan", "attribute", {"type": "ceiling_fan", "inch": "52"}, ["ceiling_fan"]),
    Q("hampton bay ceiling fan", "brand", {"type": "ceiling_fan", "brand": "Hampton Bay"}, ["ceiling_fan"]),
    Q("pendant light", "generic", {"type": "pendant"}, ["flush_mount"]),
    Q("outdoor wall light", "generic", {"type": "outdoor_light"}, []),
    Q("under counter lighting", "synonym", {"type": "under_cabinet"}, []),
    Q("vinyl plank flooring", "generic", {"type": "vinyl_plank"}, ["laminate"]),
    Q("lifeproof flooring", "brand", {"type": "vinyl_plank", "brand": "LifeProof"}, ["vinyl_plank", "laminate"]),
    Q("laminte flooring", "misspelling", {"type": "laminate"}, ["vinyl_plank", "hardwood"]),
    Q("subway tile", "generic", {"type": "tile"}, []),
    Q("oak hardwood floor", "generic", {"type": "hardwood"}, ["laminate", "vinyl_plank"]),
    Q("floor underlayment", "generic", {"type": "underlayment"}, []),
    Q("sanded grout", "generic", {"type": "grout"}, []),
    Q("french door refrigerator", "generic", {"type": "refrigerator", "style": "french door"}, ["refrigerator"]),
    Q("refridgerator", "misspelling", {"type": "refrigerator"}, []),
    Q("fridge", "synonym", {"type": "refrigerator"}, []),
    Q("samsung refrigerator", "brand", {"type": "refrigerator", "brand": "Samsung"}, ["refrigerator"]),
    Q("black stainless steel fridge", "attribute", {"type": "refrigerator", "finish": "Black Stainless Steel"}, ["refrigerator"]),
    Q("stainless dishwasher", "generic", {"type": "dishwasher"}, []),
    Q("front load washer", "attribute", {"type": "washer", "load": "Front"}, ["washer", "dryer"]),
    Q("gas dryer", "attribute", {"type": "dryer", "fuel": "Gas"}, ["dryer", "washer"]),
    Q("over the range microwave", "generic", {"type": "microwave", "mount": "otr"}, ["microwave"]),
    Q("window ac unit", "synonym", {"type": "air_conditioner"}, ["dehumidifier"]),
    Q("dehumidifier", "generic", {"type": "dehumidifier"}, ["air_conditioner"]),
    Q("lawn mower", "generic", {"type": "lawn_mower"}, []),
    Q("self propelled mower", "attribute", {"type": "lawn_mower", "drive": "self-propelled"}, ["lawn_mower"]),
    Q("18 in. lawn mower", "attribute", {"type": "lawn_mower", "inch": "18"}, ["lawn_mower"]),
    Q("battery powered lawn mower", "attribute", {"type": "lawn_mower", "power": "battery"}, ["lawn_mower"]),
    Q("toro mower", "brand", {"type": "lawn_mower", "brand": "Toro"}, ["lawn_mower"]),
    Q("weed eater", "synonym", {"type": "string_trimmer"}, []),
    Q("ego leaf blower", "brand", {"type": "leaf_blower", "brand": "EGO"}, ["leaf_blower", "string_trimmer"]),
    Q("100 ft garden hose", "attribute", {"type": "garden_hose", "ft": "100"}, ["garden_hose"]),
    Q("black mulch", "attribute", {"type": "mulch", "color": "Black"}, ["mulch"]),
    Q("potting soil", "generic", {"type": "potting_soil"}, ["mulch"]),
    Q("romex 12/2", "synonym", {"type": "wire", "gauge": "12/2"}, ["wire"]),
    Q("gfci outlet", "generic", {"type": "outlet", "kind": "gfci"}, ["outlet", "breaker"]),
    Q("usb outlet", "attribute", {"type": "outlet", "kind": "usb"}, ["outlet"]),
    Q("dimmer switch", "generic", {"type": "switch", "dimmer": "yes"}, ["switch"]),
    Q("20 amp breaker", "attribute", {"type": "breaker", "amp": "20"}, ["breaker"]),
    Q("extension cord", "generic", {"type": "extension_cord"}, []),
    Q("sheetrock screws", "synonym", {"type": "screws", "use": "drywall"}, ["screws", "anchors"]),
    Q("deck screws", "generic", {"type": "screws", "use": "deck"}, ["screws"]),
    Q("framing nails", "generic", {"type": "nails"}, ["screws"]),
    Q("front door knob", "attribute", {"type": ("door_knob", "deadbolt"), "function": ("entry", None)}, ["door_knob", "deadbolt"]),
    Q("schlage deadbolt", "brand", {"type": "deadbolt", "brand": "Schlage"}, ["deadbolt", "door_knob"]),
    Q("black cabinet pulls", "attribute", {"type": "cabinet_pull", "finish": "Matte Black"}, ["cabinet_pull"]),
    Q("door hinges", "generic", {"type": "hinge"}, []),
    Q("drywall anchors", "generic", {"type": "anchors"}, ["screws"]),
    Q("garage shelving", "generic", {"type": "garage_shelving"}, ["hooks", "storage_bin"]),
    Q("husky tool chest", "brand", {"type": "tool_chest", "brand": "Husky"}, ["tool_chest"]),
    Q("storage totes", "synonym", {"type": "storage_bin"}, []),
    Q("closet organizer", "generic", {"type": "closet"}, []),
]

# (type, brand) of the products whose model numbers become queries.
MODEL_QUERIES = [("drill", "DEWALT"), ("drill", "Milwaukee"), ("impact_driver", "Makita"), ("shop_vac", "RIDGID"),
                 ("refrigerator", "LG"), ("lawn_mower", "Honda"), ("kitchen_faucet", "Delta"), ("ceiling_fan", "Hunter"),
                 ("water_heater", "Rheem"), ("switch", "Lutron")]


USED_MODELS: set[str] = set()


def _model(mask: str, rng: random.Random) -> str:
    """A model number from the brand's pattern, unique across the catalog (model queries need one answer)."""
    for _ in range(1000):
        model = "".join(str(rng.randrange(10)) if c == "#" else c for c in mask)
        if model not in USED_MODELS:
            USED_MODELS.add(model)
            return model
    raise SystemExit(f"model pattern {mask!r} ran out of numbers")


def make_products(rng: random.Random) -> list[Product]:
    products: list[Product] = []
    titles: set[str] = set()
    for spec in TYPES:
        made = attempts = 0
        brands = list(spec.brands)
        for brand, variant, values in PINS.get(spec.key, []):  # products some query needs to exist
            template, attrs = spec.variants[variant]
            values = {**{k: v for k, v in attrs.items() if not isinstance(v, list)}, **values}
            model = _model(spec.brands[brand], rng)
            title = template.format(brand=brand, model=model, **values)
            titles.add(title.rsplit(" ", 1)[0])
            products.append(Product("", title, {"type": spec.key, "category": spec.category, "brand": brand,
                                                "model": model, **values}))
            made += 1
        while made < spec.n and attempts < 50 * spec.n:
            attempts += 1
            brand = brands[made % len(brands)] if made < len(brands) else rng.choice(brands)
            # cycle through variants and the first attribute's values so that every one is made at least
            # once where n allows; the rest of the attributes are drawn at random
            template, attrs = spec.variants[made % len(spec.variants)]
            values, cycled = {}, False
            for k, v in attrs.items():
                if isinstance(v, list) and not cycled:
                    values[k], cycled = v[(made // len(spec.variants) + attempts) % len(v)], True
                else:
                    values[k] = rng.choice(v) if isinstance(v, list) else v
            stem = template.format(brand=brand, model="", **values).rstrip()
            if stem in titles:
                continue
            titles.add(stem)
            model = _model(spec.brands[brand], rng)
            title = f"{stem} {model}"
            attrs_out = {"type": spec.key, "category": spec.category, "brand": brand, "model": model, **values}
            products.append(Product("", title, attrs_out))
            made += 1
    rng.shuffle(products)
    for i, product in enumerate(sorted(products, key=lambda p: (p.attrs["category"], p.attrs["type"]))):
        product.uid = str(FIRST_UID + i)
    return sorted(products, key=lambda p: int(p.uid))


def _matches(product: Product, matcher: dict) -> bool:
    for key, want in matcher.items():
        have = product.attrs.get(key)
        if isinstance(want, tuple):
            if have not in want:
                return False
        elif have != want:
            return False
    return True


def level(product: Product, query: Query) -> int:
    if any(_matches(product, m) for m in query.exact):
        return 3
    if any(_matches(product, m) for m in query.partial):
        return 2
    return 1


STOP = {"in", "in.", "with", "and", "for", "the", "of", "x", "ft", "ft.", "a"}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9/]+", text.lower()) if w not in STOP and len(w) > 1}


def judge(products: list[Product], queries: list[Query], rng: random.Random) -> list[tuple[Product, str, float]]:
    """Pool 3-9 products per query (exact, partial, lexical confusers) and simulate three raters."""
    rows = []
    for query in queries:
        by_level = {lvl: [p for p in products if level(p, query) == lvl] for lvl in (1, 2, 3)}
        words = _words(query.text)
        confusers = [p for p in by_level[1] if words & _words(p.title)]
        if not confusers:
            category = {p.attrs["category"] for p in by_level[3]}
            confusers = [p for p in by_level[1] if p.attrs["category"] in category]
        pool = (rng.sample(by_level[3], min(4, len(by_level[3])))
                + rng.sample(by_level[2], min(rng.randint(1, 3), len(by_level[2])))
                + rng.sample(confusers, min(2, len(confusers))))
        if not by_level[3]:
            raise SystemExit(f"query {query.text!r} has no exact product: fix the templates")
        for product in pool:
            true = level(product, query)
            ratings = [min(3, max(1, true + rng.choice((-1, 1)))) if rng.random() < NOISE else true for _ in range(3)]
            rows.append((product, query.text, round(sum(ratings) / 3, 2)))
    return rows


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rng = random.Random(SEED)
    products = make_products(rng)
    queries = list(QUERIES)
    for key, brand in MODEL_QUERIES:
        target = next(p for p in products if p.attrs["type"] == key and p.attrs["brand"] == brand)
        model = target.attrs["model"]
        queries.append(Q(model.lower(), "model", {"model": model}, [{"type": key, "brand": brand}]))
    texts = [q.text for q in queries]
    assert len(texts) == len(set(texts)), "duplicate query text"
    rows = judge(products, queries, rng)
    rows.sort(key=lambda r: (int(r[0].uid), r[1]))
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "products.jsonl", "w", encoding="utf-8", newline="\n") as out:
        for p in products:
            out.write(json.dumps({"id": p.uid, "title": p.title}, ensure_ascii=False) + "\n")
    lines = ['"id","product_uid","product_title","search_term","relevance"']
    row_id = 1
    for product, query, relevance in rows:
        row_id += rng.randint(1, 4)  # the real ids have gaps (rows were held out)
        lines.append(f"{row_id},{product.uid},{_quote(product.title)},{_quote(query)},{_number(relevance)}")
    (args.out / "train.csv").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    print(f"{len(products)} products, {len(queries)} queries, {len(rows)} judged rows -> {args.out}")


if __name__ == "__main__":
    main()
